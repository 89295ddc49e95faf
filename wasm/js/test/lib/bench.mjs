// The JS benchmarks (docs/performance.md), the same code in Node and in
// Chromium: module compile and instantiate, one F2 evaluation (three rules
// and a 50/50 split; the context fails rules 1-2 and matches 3, as the Go
// benchmarks' peer set), all 100 F2-like flags in one call, and opening a
// 1 000- and a 10 000-flag bundle. Each figure is the median of several
// timed batches; nothing here asserts a time.
import { Engine, loadModule } from "../../engine.mjs";

export const peerContext = { targetingKey: "user-123", email: "bob@other.org", country: "FR", plan: "free", age: 42 };

/** f2YAML is n F2-like flags as flags-as-code (the Go benchmark's set). */
export function f2YAML(n, key) {
  let s = "project: bench\nenvironments: [production]\n" +
    "context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n";
  for (let i = 0; i < n; i++) {
    s += `  ${n === 1 ? key : `${key}_${String(i).padStart(n > 1000 ? 5 : 3, "0")}`}:\n    type: string\n` +
      "    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n" +
      "    defaultVariant: a\n    environments:\n      production:\n        rules:\n" +
      "          - {name: r-internal, when: 'email.endsWith(\"@example.com\")', serve: internal}\n" +
      "          - {name: r-pro-na, when: 'country in [\"US\", \"CA\"] && plan == \"pro\"', serve: pro-na}\n" +
      "          - {name: r-senior, when: 'age >= 30', serve: senior}\n" +
      "        default: {split: {a: 50, b: 50}}\n";
  }
  return s;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// timeEach: median microseconds per call of fn over batches of n calls.
function timeEach(fn, n, batches) {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i); // warm up
  const per = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    per.push(((performance.now() - t0) * 1000) / n);
  }
  return median(per);
}

async function timeAsync(fn, runs) {
  const per = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    per.push((performance.now() - t0) * 1000);
  }
  return median(per);
}

/**
 * runBench runs every benchmark. wasmBytes is the module; bundles holds
 * the sealed {f2, f100, open1k, open10k} bytes; trust their trust; scale
 * (0 < scale ≤ 1) shortens the runs (a smoke test uses 0.01).
 */
export async function runBench({ wasmBytes, bundles, trust, now, scale = 1 }) {
  const n = (x) => Math.max(1, Math.round(x * scale));
  const out = {};
  out.compileUs = await timeAsync(() => WebAssembly.compile(wasmBytes), n(5));
  const module = await loadModule(wasmBytes);
  out.instantiateUs = await timeAsync(() => Engine.create(module), n(20));
  const engine = async (bytes) => {
    const e = await Engine.create(module);
    e.setTrust(trust);
    e.open(bytes, now);
    return e;
  };
  const one = await engine(bundles.f2);
  const check = one.evaluateJSON("f2", peerContext, now);
  if (!check.includes('"variant":"senior"')) throw new Error(`F2 gave ${check}`);
  const contexts = Array.from({ length: 64 }, (_, i) => ({ ...peerContext, targetingKey: `user-${i}` }));
  out.f2SameContextUs = timeEach(() => one.evaluateJSON("f2", peerContext, now), n(20000), n(7));
  out.f2NewContextUs = timeEach((i) => one.evaluateJSON("f2", contexts[i & 63], now), n(20000), n(7));
  out.f2ParsedUs = timeEach((i) => JSON.parse(one.evaluateJSON("f2", contexts[i & 63], now)), n(20000), n(7));
  const all = await engine(bundles.f100);
  if (JSON.parse(all.evaluateAllJSON(peerContext, now)).filter((r) => r.variant === "senior").length !== 100) throw new Error("F100all");
  out.f100AllRawUs = timeEach((i) => all.evaluateAllJSON(contexts[i & 63], now), n(2000), n(7));
  out.f100AllParsedUs = timeEach((i) => JSON.parse(all.evaluateAllJSON(contexts[i & 63], now)), n(2000), n(7));
  for (const [name, bytes, runs] of [["open1kUs", bundles.open1k, 9], ["open10kUs", bundles.open10k, 5]]) {
    const e = await engine(bundles.f2);
    out[name] = await timeAsync(async () => {
      e.setTrust(trust);
      e.open(bytes, now);
    }, n(runs));
  }
  return out;
}
