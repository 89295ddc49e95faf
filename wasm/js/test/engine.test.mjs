// The module under the JS host: a trapped instance is discarded and
// rebuilt with its trust and bundle; malformed input is an error result;
// times are exact to the nanosecond when given as RFC 3339.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { openBundle } from "../index.mjs";
import { parseRFC3339, toTime } from "../time.mjs";
import { edgeflag, keys, tempDir } from "./lib/fixtures.mjs";
import { f2YAML } from "./lib/bench.mjs";
import { corpusDir, trapModulePath, modulePath, tinyTrapModulePath, tinyModulePath, fileURL } from "./lib/paths.mjs";

const sealed = (p) => readFile(path.join(corpusDir, "sealed", p));
const jwks = JSON.parse(await sealed("jwks.json"));
const opts = { jwks, project: "conformance", environment: "production", audience: "server", now: "2026-06-01T00:00:00Z" };

// Both builds: Go's runtime traps by exiting (proc_exit), TinyGo's by
// executing unreachable (a WebAssembly.RuntimeError).
const builds = [["edgeflag.wasm", modulePath, trapModulePath], ["edgeflag.tiny.wasm", tinyModulePath, tinyTrapModulePath]];

for (const [name, modulePath, trapModulePath] of builds) {
  test(`${name}: a trapped instance is discarded and rebuilt with the same trust and bundle`, async () => {
    const b = await openBundle(await sealed("reasons.jws"), { ...opts, wasm: fileURL(trapModulePath) });
    const want = b.evaluateJSON("static-on", { targetingKey: "u" });
    assert.equal(b.engine.instances, 1);
    for (let i = 1; i <= 3; i++) {
      assert.throws(() => b.engine.callExport("ef_test_trap"), (e) => e.code === "ErrTrap" && /trapped/.test(e.message));
      assert.equal(b.engine.inst, null, "the trapped instance is gone");
      assert.equal(b.evaluateJSON("static-on", { targetingKey: "u" }), want);
      assert.equal(b.engine.instances, 1 + i);
      assert.equal(b.engine.traps, i);
    }
    // The rebuilt instance keeps the rollback floor of the trust it replayed.
    assert.equal(b.version, 1);
    assert.equal(b.evaluateAll({}).length, 13);
  });

  test(`${name}: reopening keeps memory within twice the first open's; a refused bundle changes nothing`, async (t) => {
    const dir = await tempDir(t);
    const k = await keys(dir);
    await mkdir(path.join(dir, "f"));
    await writeFile(path.join(dir, "f", "flags.yaml"), f2YAML(10000, "f"));
    await edgeflag("build", path.join(dir, "f"), "--env", "production", "--key", k.key, "--out", path.join(dir, "out"),
      "--version", "1", "--now", "2026-06-01T00:00:00Z", "--ttl", "720h");
    const bytes = new Uint8Array(await readFile(path.join(dir, "out", "bench.production.1.server.jws")));
    const o = { jwks: k.jwks, project: "bench", environment: "production", audience: "server", now: "2026-06-02T00:00:00Z" };
    const b = await openBundle(bytes, { ...o, wasm: fileURL(modulePath) });
    const e = b.engine;
    const first = e.inst.memory.buffer.byteLength;
    let most = first;
    for (let i = 2; i <= 25; i++) {
      e.open(bytes, o.now);
      most = Math.max(most, e.inst.memory.buffer.byteLength);
    }
    console.log(`${name}: memory after the first open ${first >> 10} KiB, at most ${most >> 10} KiB over 25 opens, ${e.instances} instances`);
    assert.ok(most <= 2 * first, `memory grew from ${first} to ${most}`);
    const before = e.inst;
    assert.throws(() => e.open(bytes, "2027-01-02T00:00:00Z"), { code: "ErrExpired" });
    assert.equal(e.inst, before, "a refused bundle keeps the instance");
    assert.equal(JSON.parse(b.evaluateJSON("f_00042", { targetingKey: "u", age: 42 })).variant, "senior");
  });

  test(`${name}: malformed input is an error result, the instance survives`, async () => {
    const b = await openBundle(await sealed("reasons.jws"), { ...opts, wasm: fileURL(modulePath) });
    assert.throws(() => b.evaluate("static-on", [1, 2]), { code: "ErrContext" });
    assert.throws(() => b.evaluate("static-on", { x: 1n }), { code: "ErrContext" });
    assert.throws(() => b.evaluate("static-on", {}, undefined, "list"), { code: "ErrArgument" });
    assert.throws(() => b.evaluate(7, {}), { code: "ErrArgument" });
    assert.equal(b.evaluate("no-such", {}).errorCode, "FLAG_NOT_FOUND");
    assert.equal(b.evaluate("static-on", {}, undefined, "string").errorCode, "TYPE_MISMATCH");
    assert.equal(b.engine.traps, 0);
    b.close();
    assert.throws(() => b.evaluate("static-on", {}), { code: "ErrClosed" });
    await assert.rejects(openBundle(new Uint8Array([1, 2, 3]), { ...opts, wasm: fileURL(modulePath) }), { code: "ErrMalformed" });
    await assert.rejects(openBundle(await sealed("reasons.jws"), { ...opts, jwks: { keys: [{ kty: "oct" }] }, wasm: fileURL(modulePath) }), { code: "ErrJWKS" });
    await assert.rejects(openBundle(await sealed("reasons.jws"), { ...opts, audience: "browser", wasm: fileURL(modulePath) }), { code: "ErrTrust" });
    await assert.rejects(openBundle(await sealed("reasons.jws"), { ...opts, now: "2027-01-02T00:00:00Z", wasm: fileURL(modulePath) }), { code: "ErrExpired" });
    await assert.rejects(openBundle(await sealed("reasons.jws"), { ...opts, lastVersion: 2, wasm: fileURL(modulePath) }), { code: "ErrRollback" });
  });
}

test("times: Date and milliseconds to the millisecond, RFC 3339 to the nanosecond", () => {
  assert.deepEqual(toTime(new Date("2026-03-31T23:59:59.999Z")), { sec: 1775001599n, nsec: 999000000 });
  assert.deepEqual(toTime("2026-03-31T23:59:59.999999999Z"), { sec: 1775001599n, nsec: 999999999 });
  assert.deepEqual(parseRFC3339("2026-04-01T02:00:00+02:00"), parseRFC3339("2026-04-01T00:00:00Z"));
  assert.deepEqual(toTime(-1), { sec: -1n, nsec: 999000000 });
  assert.deepEqual(parseRFC3339("0001-01-01T00:00:00Z"), { sec: -62135596800n, nsec: 0 });
  for (const bad of ["2026-02-30T00:00:00Z", "2026-06-01 00:00:00Z", "2026-06-01T24:00:00Z", "2026-06-01T00:00:00", "x"]) {
    assert.throws(() => parseRFC3339(bad), { code: "ErrArgument" }, bad);
  }
  assert.throws(() => toTime({}), { code: "ErrArgument" });
  assert.throws(() => toTime(NaN), { code: "ErrArgument" });
});

test("poll_oneoff answers the Go runtime's sleeps: clock subscriptions fire at once, file descriptors fail", async () => {
  const { wasiImports } = await import("../wasi.mjs");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const w = wasiImports(() => memory);
  const dv = new DataView(memory.buffer);
  // Two subscriptions (48 bytes each) at 0: a clock (tag 0) and an fd_read (tag 1).
  dv.setBigUint64(0, 0x1122334455667788n, true);
  dv.setUint8(8, 0);
  dv.setBigUint64(24, 5000n, true); // 5 µs
  dv.setBigUint64(48, 42n, true);
  dv.setUint8(56, 1);
  assert.equal(w.poll_oneoff(0, 1024, 2, 2048), 0);
  assert.equal(dv.getUint32(2048, true), 2, "two events");
  assert.equal(dv.getBigUint64(1024, true), 0x1122334455667788n, "userdata echoed");
  assert.equal(dv.getUint16(1024 + 8, true), 0, "the clock fired");
  assert.equal(dv.getUint8(1024 + 10), 0);
  assert.equal(dv.getBigUint64(1056, true), 42n);
  assert.equal(dv.getUint16(1056 + 8, true), 8, "EBADF for a file descriptor");
  assert.equal(dv.getUint8(1056 + 10), 1);
  assert.equal(w.poll_oneoff(0, 1024, 0, 2048), 28, "EINVAL for no subscriptions");
});
