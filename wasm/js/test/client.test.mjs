// createClient against a fake edgefn: bootstrap with the token and
// If-None-Match, verification in the module, persistence and offline
// start with re-verification, anti-rollback across restarts, the stream,
// polling, token refresh, and the wasm option's three forms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createClient, fileStorage, memoryStorage, loadModule } from "../index.mjs";
import { fakeEdgefn, until } from "./lib/fakeedgefn.mjs";
import { tempDir, keys, build } from "./lib/fixtures.mjs";
import { modulePath, fileURL } from "./lib/paths.mjs";

const wasm = fileURL(modulePath);
const day2 = Date.parse("2026-06-02T00:00:00Z");

async function setup(t, opts = {}) {
  const dir = await tempDir(t);
  const k = await keys(dir);
  const f = await fakeEdgefn(opts);
  t.after(() => f.close());
  return { dir, k, f };
}

function client(t, f, k, extra = {}) {
  const errors = [];
  const c = createClient({ bootstrapUrl: f.bootstrapUrl, token: f.token, jwks: k.jwks, project: "webshop", environment: "production",
    wasm, clock: () => day2, storage: memoryStorage(), onError: (e) => errors.push(e), ...extra });
  c.errors = errors;
  t.after(() => c.close());
  return c;
}

test("bootstrap, verify, evaluate locally; a refresh sends If-None-Match and gets 304", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  f.publish((await build(dir, k.key, { version: 3 })).client, 3);
  const c = client(t, f, k, { refreshSeconds: 0, context: { targetingKey: "u-1", plan: "pro" } });
  const before = c.evaluate("new-checkout");
  assert.equal(before.errorCode, "PROVIDER_NOT_READY");
  await c.ready;
  assert.equal(c.version, 3);
  assert.equal(c.source, "network");
  assert.deepEqual(c.evaluate("new-checkout"), { key: "new-checkout", value: true, variant: "on", reason: "TARGETING_MATCH", ruleId: "pro", version: 3 });
  assert.equal(c.evaluate("new-checkout", { plan: "free" }).variant, "off");
  assert.equal(c.evaluate("banner", undefined, { type: "boolean" }).errorCode, "TYPE_MISMATCH");
  assert.equal(c.evaluate("server-only").errorCode, "FLAG_NOT_FOUND", "the client bundle holds client-side flags only");
  assert.equal(c.evaluate("new-checkout", { bad: 1n }).errorCode, "INVALID_CONTEXT");
  assert.deepEqual(c.evaluateAll().map((r) => r.key), ["banner", "button-color", "new-checkout"]);
  const first = f.requests.find((r) => r.path === "/v1/bootstrap");
  assert.equal(first.auth, `Bearer ${f.token}`);
  assert.equal(first.ifNoneMatch, undefined);
  assert.equal(await c.refresh(), false);
  assert.equal(f.requests.at(-1).ifNoneMatch, f.etag);
  assert.equal(c.stats.notModified, 1);
});

test("a bundle that does not verify is never used: wrong key, wrong project, tampered", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  const other = await keys(dir, "other.key");
  f.publish((await build(dir, other.key, { version: 1 })).client, 1);
  const c = client(t, f, k, { refreshSeconds: 0 });
  await assert.rejects(c.ready, { code: "ErrUnknownKey" });
  assert.equal(c.evaluate("banner").errorCode, "PROVIDER_NOT_READY");
  const good = (await build(dir, k.key, { version: 1 })).client;
  const bad = good.slice();
  bad[bad.length - 5] = bad[bad.length - 5] === 65 ? 66 : 65; // another base64url letter inside the signature
  f.publish(bad, 1);
  await assert.rejects(c.refresh(), { code: "ErrSignature" });
  const c2 = client(t, f, k, { refreshSeconds: 0, project: "other" });
  f.publish(good, 1);
  await assert.rejects(c2.ready, { code: "ErrProject" });
  f.publish(good, 1);
  assert.equal(await c.refresh(), true);
  assert.equal(c.evaluate("banner").value, "Spring sale");
});

test("persists the last verified bundle; offline, a restart re-verifies it (expiry with grace) before using it", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  const store = path.join(dir, "store");
  f.publish((await build(dir, k.key, { version: 4 })).client, 4);
  const c1 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0 });
  await c1.ready;
  await c1.close();
  const stored = JSON.parse(await readFile(path.join(store, "edgeflag.webshop.production.client.bundle"), "utf8"));
  assert.equal(stored.etag, f.etag);
  assert.equal(await readFile(path.join(store, "edgeflag.webshop.production.client.highest"), "utf8"), "4");
  await f.close(); // offline from here on

  const c2 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0 });
  await c2.ready;
  assert.equal(c2.source, "storage");
  assert.equal(c2.evaluate("banner").value, "Spring sale");
  assert.ok(c2.errors.some((e) => e.code === "ErrFetch"), "the failed fetch is reported");

  // 2026-06-08 is the bundle's expiry: a day later it is refused, unless the grace covers it.
  const late = Date.parse("2026-06-09T00:00:00Z");
  const c3 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0, clock: () => late });
  await assert.rejects(c3.ready, { code: "ErrFetch" }); // nothing usable: the network error is the answer
  assert.ok(c3.errors.some((e) => e.code === "ErrExpired"));
  const c4 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0, clock: () => late, grace: 2 * 86400 });
  await c4.ready;
  assert.equal(c4.version, 4);

  // A stored bundle edited on disk is refused.
  const p = path.join(store, "edgeflag.webshop.production.client.bundle");
  const rec = JSON.parse(await readFile(p, "utf8"));
  const i = rec.bundle.length - 5; // inside the signature, not its last character
  rec.bundle = rec.bundle.slice(0, i) + (rec.bundle[i] === "A" ? "B" : "A") + rec.bundle.slice(i + 1);
  await writeFile(p, JSON.stringify(rec));
  const c5 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0 });
  await assert.rejects(c5.ready, { code: "ErrFetch" });
  assert.ok(c5.errors.some((e) => e.code === "ErrSignature"), c5.errors.map((e) => e.message).join("; "));
});

test("never accepts a version older than the highest seen, also after a restart", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  const store = path.join(dir, "store");
  const v5 = (await build(dir, k.key, { version: 5 })).client;
  const v4 = (await build(dir, k.key, { version: 4, flags: 2 })).client;
  f.publish(v5, 5);
  const c1 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0 });
  await c1.ready;
  f.publish(v4, 4);
  await assert.rejects(c1.refresh(), { code: "ErrRollback" });
  assert.equal(c1.version, 5);
  assert.equal(c1.evaluate("banner").value, "Spring sale");
  await c1.close();
  // Restart with the stored bundle gone: the highest version is still known.
  await fileStorage(store).delete("edgeflag.webshop.production.client.bundle");
  const c2 = client(t, f, k, { storage: fileStorage(store), refreshSeconds: 0 });
  await assert.rejects(c2.ready, { code: "ErrRollback" });
  assert.equal(c2.evaluate("banner").errorCode, "PROVIDER_NOT_READY");
  // The same version again is fine (a restart re-opens what it had).
  f.publish(v5, 5);
  assert.equal(await c2.refresh(), true);
  assert.equal(c2.version, 5);
});

test("follows /v1/stream: a new version is fetched and announced", async (t) => {
  const { dir, k, f } = await setup(t, { stream: true });
  f.publish((await build(dir, k.key, { version: 1 })).client, 1);
  const c = client(t, f, k, { refreshSeconds: 3600 });
  const changes = [];
  c.onChange((ch) => changes.push(ch));
  await c.ready;
  await until(() => f.streams.size === 1, 5000, "the stream");
  f.publish((await build(dir, k.key, { version: 2, flags: 2 })).client, 2);
  await until(() => c.version === 2, 5000, "version 2");
  assert.equal(c.evaluate("banner").value, "Summer sale");
  assert.deepEqual(changes.map((x) => x.version), [1, 2]);
  assert.ok(c.stats.streamEvents >= 2);
});

test("without a stream (501, as in Lambda) it polls every refreshSeconds with If-None-Match", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  f.publish((await build(dir, k.key, { version: 1 })).client, 1);
  const c = client(t, f, k, { refreshSeconds: 0.05 });
  await c.ready;
  await until(() => c.stats.notModified >= 2, 5000, "two polls");
  f.publish((await build(dir, k.key, { version: 2, flags: 2 })).client, 2);
  await until(() => c.version === 2, 5000, "version 2");
  assert.equal(f.count("/v1/stream"), 1, "a 501 stream is not asked again");
});

test("getToken: a 401 gets a fresh token and one more try", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  f.publish((await build(dir, k.key, { version: 1 })).client, 1);
  let n = 0;
  const c = client(t, f, k, { token: undefined, getToken: async () => (++n === 1 ? "expired" : f.token), refreshSeconds: 0 });
  await c.ready;
  assert.equal(n, 2);
  assert.deepEqual(f.requests.filter((r) => r.path === "/v1/bootstrap").map((r) => r.auth), ["Bearer expired", `Bearer ${f.token}`]);
});

test("wasm: a URL, bytes or a precompiled WebAssembly.Module", async (t) => {
  const { dir, k, f } = await setup(t, { stream: false });
  f.publish((await build(dir, k.key, { version: 1 })).client, 1);
  const bytes = new Uint8Array(await readFile(modulePath));
  const mod = await loadModule(bytes);
  assert.ok(mod instanceof WebAssembly.Module);
  for (const w of [wasm, new URL(wasm), bytes, mod]) {
    const c = client(t, f, k, { wasm: w, refreshSeconds: 0 });
    await c.ready;
    assert.equal(c.evaluate("banner").value, "Spring sale");
  }
  await assert.rejects(loadModule(fileURL(path.join(dir, "missing.wasm"))), { code: "ErrFetch" });
  await assert.rejects(loadModule([fileURL(path.join(dir, "missing.wasm"))]), { code: "ErrFetch" });
  assert.ok((await loadModule([fileURL(path.join(dir, "missing.wasm")), wasm])) instanceof WebAssembly.Module, "the first module that loads is used");
});

test("createClient refuses incomplete options", () => {
  const base = { bootstrapUrl: "http://127.0.0.1:1/v1/bootstrap", token: "t", jwks: { keys: [] }, project: "p", environment: "e" };
  for (const [k, v] of [["bootstrapUrl", undefined], ["jwks", undefined], ["token", undefined], ["mode", "x"]]) {
    assert.throws(() => createClient({ ...base, [k]: v }), { code: "ErrArgument" }, k);
  }
  assert.throws(() => createClient({ ...base, getToken: () => "x" }), { code: "ErrArgument" });
  assert.throws(() => createClient({ ...base, mode: "values" }), /valuesJwks/);
});

test("a bootstrap that hangs times out (timeoutSeconds) and is reported; the stream is exempt", async (t) => {
  const http = await import("node:http");
  const hung = [];
  const server = http.createServer((req, res) => { hung.push(res); });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => { for (const r of hung) r.destroy(); server.close(); });
  const errors = [];
  const c = createClient({ bootstrapUrl: `http://127.0.0.1:${server.address().port}/v1/bootstrap`, token: "t", jwks: { keys: [] },
    project: "webshop", environment: "production", wasm, storage: memoryStorage(), refreshSeconds: 0, stream: false,
    timeoutSeconds: 0.2, onError: (e) => errors.push(e) });
  t.after(() => c.close());
  const t0 = Date.now();
  await assert.rejects(c.ready, (e) => e.code === "ErrFetch" && /abort|timeout/i.test(e.message));
  assert.ok(Date.now() - t0 < 5000);
});
