// node wasm/js/test/bench.mjs: the JS benchmarks in Node and in headless
// Chromium (make js-bench). Prints one JSON line per runtime and a table.
// The bundles are built by the real CLI; nothing is asserted.
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runBench, f2YAML } from "./lib/bench.mjs";
import { edgeflag, keys, tempDir } from "./lib/fixtures.mjs";
import { startServer } from "./lib/server.mjs";
import { launch } from "./lib/browser.mjs";
import { modulePath } from "./lib/paths.mjs";

const scale = Number(process.env.EDGEFLAG_BENCH_SCALE ?? 1);
const dir = await tempDir();
const k = await keys(dir);
const now = "2026-06-01T00:00:00Z";
const bundles = {};
for (const [name, count, key] of [["f2", 1, "f2"], ["f100", 100, "f2"], ["open1k", 1000, "f"], ["open10k", 10000, "f"]]) {
  const d = path.join(dir, name);
  await import("node:fs/promises").then((fs) => fs.mkdir(d)).then(() => writeFile(path.join(d, "flags.yaml"), f2YAML(count, key)));
  await edgeflag("build", d, "--env", "production", "--key", k.key, "--out", path.join(d, "out"), "--version", "1", "--now", now, "--ttl", "720h");
  bundles[name] = new Uint8Array(await readFile(path.join(d, "out", "bench.production.1.server.jws")));
}
const trust = { jwks: k.jwks, project: "bench", environment: "production", audience: "server" };
const wasmBytes = new Uint8Array(await readFile(modulePath));
const at = "2026-06-02T00:00:00Z";

const load = () => os.loadavg()[0].toFixed(1);
const results = {};
const l0 = load();
results.node = { ...(await runBench({ wasmBytes, bundles, trust, now: at, scale })), load: l0, runtime: `node ${process.version}` };
console.log(JSON.stringify(results.node));

const files = {};
for (const [name, bytes] of Object.entries(bundles)) {
  files[`/bench/${name}.jws`] = path.join(dir, name, "out", "bench.production.1.server.jws");
  void bytes;
}
files["/bench/edgeflag.wasm"] = modulePath;
files["/bench.html"] = new URL("./pages/bench.html", import.meta.url).pathname;
const server = await startServer({ files, routes: { "/bench/config.json": (req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ trust, now: at, scale })) } });
const browser = await launch();
try {
  const page = await browser.newPage();
  const l1 = load();
  await page.goto(server.url + "/bench.html");
  const r = await page.waitForFunction(() => window.__bench, null, { timeout: 600000 }).then((h) => h.jsonValue());
  if (r.error) throw new Error(r.error);
  results.chromium = { ...r, load: l1, runtime: (await browser.version()) };
  console.log(JSON.stringify(results.chromium));
} finally {
  await browser.close();
  await server.close();
}
const rows = [["compile the module", "compileUs"], ["instantiate (+ _initialize)", "instantiateUs"], ["F2, same context", "f2SameContextUs"],
  ["F2, a new context every call", "f2NewContextUs"], ["F2 + JSON.parse (evaluate)", "f2ParsedUs"], ["F100all, raw JSON", "f100AllRawUs"],
  ["F100all + JSON.parse (evaluateAll)", "f100AllParsedUs"], ["Open1k (verify + zstd + decode + load)", "open1kUs"], ["Open10k", "open10kUs"]];
const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`);
console.log(`| measure | Node (${results.node.runtime}) | Chromium (${results.chromium.runtime}) |\n|---|---:|---:|`);
for (const [label, key] of rows) console.log(`| ${label} | ${fmt(results.node[key])} | ${fmt(results.chromium[key])} |`);
console.log(`load average (1 min) at the start of each run: node ${results.node.load}, chromium ${results.chromium.load}; ${os.cpus().length} cores`);
