// The Lambda@Edge handlers on CloudFront event fixtures (fixtures/): the
// unit cookie absent, valid, malformed, oversize; spoofed headers; the
// request limit; an expired, missing or refused bundle; a flood through
// one instance; the origin-request refresh against a local HTTP server.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { lambdaHandlers, requestSize, REQUEST_LIMIT, CLOUDFRONT_RESERVE } from "../src/lambda.mjs";
import { readUnit } from "../src/unit.mjs";
import { T0, MODULE, shop, tempDir, viewerRequest, responseFor, fixture, header, shopConfig } from "./lib.mjs";

const wasm = await readFile(MODULE);
const module = await WebAssembly.compile(wasm);

async function setup(t, { config = shopConfig(), bundle = "v1", clock = { now: T0 + 3600e3 }, fetch, versions = [1], issued } = {}) {
  const dir = await tempDir(t);
  const s = await shop(dir, { versions, issued });
  const logs = [];
  let seq = 0;
  const h = lambdaHandlers({
    config, jwks: s.jwks,
    bundle: () => (bundle === null ? null : typeof bundle === "string" ? s.bundles[Number(bundle.slice(1))] : bundle),
    wasm: () => module,
  }, {
    now: () => clock.now,
    random: (n) => Uint8Array.from({ length: n }, (_, i) => (seq + i * 7) & 255, seq++),
    fetch, log: (l) => logs.push(l),
  });
  return { h, s, clock, logs, dir };
}

const flagsOf = (req) => JSON.parse(header(req.headers, "x-edgeflag-flags"));

test("no cookie: a new unit evaluates the route's flags, the response sets the cookie", async (t) => {
  const { h } = await setup(t);
  const req = await h.viewerRequest(await viewerRequest("/checkout/pay"));
  const unit = header(req.headers, "x-edgeflag-unit");
  assert.match(unit, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(header(req.headers, "x-edgeflag-status"), "ok");
  assert.equal(header(req.headers, "x-edgeflag-version"), "1");
  const flags = flagsOf(req);
  assert.deepEqual(Object.keys(flags), ["new-checkout", "checkout-button-color"], "only the route's flags, in its order");
  assert.equal(header(req.headers, "x-edgeflag-variant-key"), `${flags["new-checkout"].variant},${flags["checkout-button-color"].variant}`);
  assert.equal(typeof flags["new-checkout"].value, "boolean");
  assert.equal(req.headers["x-edgeflag-variant-key"][0].key, "X-Edgeflag-Variant-Key");
  const res = await h.viewerResponse(await responseFor(req));
  const cookies = res.headers["set-cookie"].map((c) => c.value);
  assert.equal(cookies[0], "theme=light", "the origin's cookies stay");
  assert.equal(cookies[1], `ef_uid=${unit}; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax`);
});

test("a valid cookie is the unit: same unit, same variants, no new cookie", async (t) => {
  const { h } = await setup(t);
  const keys = new Set();
  for (let i = 0; i < 3; i++) {
    const req = await h.viewerRequest(await viewerRequest("/checkout/x", ["theme=dark; ef_uid=user-7_abc"]));
    assert.equal(header(req.headers, "x-edgeflag-unit"), "user-7_abc");
    keys.add(header(req.headers, "x-edgeflag-variant-key"));
    const res = await h.viewerResponse(await responseFor(req));
    assert.deepEqual(res.headers["set-cookie"].map((c) => c.value), ["theme=light"], "no Set-Cookie for a unit the browser has");
  }
  assert.equal(keys.size, 1);
  // Units spread over the split: some of 200 units see the new checkout, most do not (10 %).
  const on = [];
  for (let i = 0; i < 200; i++) {
    const req = await h.viewerRequest(await viewerRequest("/checkout/x", [`ef_uid=unit${i}`]));
    on.push(flagsOf(req)["new-checkout"].value);
  }
  const n = on.filter(Boolean).length;
  assert.ok(n > 5 && n < 50, `${n} of 200 in the 10 % split`);
});

test("a malformed, oversize or doubled cookie is replaced, never trusted", async (t) => {
  const { h } = await setup(t);
  for (const cookie of ["ef_uid=<script>alert(1)</script>", "ef_uid=" + "a".repeat(65), "ef_uid=", 'ef_uid="a b"', "ef_uid=%41%42", "ef_uid=a.b",
    "x=1; " + "y=".padEnd(17000, "z") + "; ef_uid=goodunit"]) {
    const req = await h.viewerRequest(await viewerRequest("/checkout/x", [cookie]));
    const unit = header(req.headers, "x-edgeflag-unit");
    assert.match(unit, /^[A-Za-z0-9_-]{22}$/, `cookie ${cookie.slice(0, 40)}: a new unit`);
    const res = await h.viewerResponse(await responseFor(req));
    assert.ok(res.headers["set-cookie"].some((c) => c.value.startsWith(`ef_uid=${unit};`)), `cookie ${cookie.slice(0, 40)} replaced`);
  }
  // Two ef_uid cookies (paths or domains differ): the first valid one wins, as browsers send the most specific first.
  assert.equal(readUnit(["ef_uid=bad!; ef_uid=second", "ef_uid=third"]).unit, "second");
  assert.deepEqual(readUnit(["a=1", "b=2"]), { unit: null, state: "absent" });
});

test("headers a viewer sends with the edge's names never reach the origin", async (t) => {
  const { h } = await setup(t);
  const spoof = { "x-edgeflag-flags": [{ key: "X-Edgeflag-Flags", value: '{"new-checkout":{"value":true}}' }],
    "x-edgeflag-unit": [{ key: "X-Edgeflag-Unit", value: "victim" }], "x-edgeflag-variant-key": [{ key: "X-Edgeflag-Variant-Key", value: "on,green" }] };
  const req = await h.viewerRequest(await viewerRequest("/checkout/x", ["ef_uid=me"], structuredClone(spoof)));
  assert.equal(header(req.headers, "x-edgeflag-unit"), "me");
  assert.notEqual(header(req.headers, "x-edgeflag-flags"), spoof["x-edgeflag-flags"][0].value);
  // A route without flags, and a path no route matches: nothing evaluated, nothing spoofed, no cookie.
  for (const uri of ["/static/app.js", "/elsewhere"]) {
    const r = await h.viewerRequest(await viewerRequest(uri, [], structuredClone(spoof)));
    assert.deepEqual(Object.keys(r.headers).filter((k) => k.startsWith("x-edgeflag-")), [], uri);
    const res = await h.viewerResponse(await responseFor(r));
    assert.deepEqual(res.headers["set-cookie"].map((c) => c.value), ["theme=light"], uri);
  }
});

test("oversize: results beyond their budget lose their values, then the header; the request stays within CloudFront's limit", async (t) => {
  const long = { ...shopConfig().defaults, "checkout-button-color": "c".repeat(300) };
  const { h } = await setup(t, { bundle: null, config: shopConfig({ flagsHeaderMaxBytes: 256, defaults: long }) });
  const req = await h.viewerRequest(await viewerRequest("/checkout/x", ["ef_uid=u1"]));
  assert.equal(header(req.headers, "x-edgeflag-status"), "missing; flags=values-omitted");
  const slim = flagsOf(req);
  assert.deepEqual(Object.keys(slim), ["new-checkout", "checkout-button-color"]);
  for (const r of Object.values(slim)) assert.deepEqual(r, { variant: "", reason: "ERROR", errorCode: "PROVIDER_NOT_READY" });
  assert.equal(header(req.headers, "x-edgeflag-variant-key"), "!,!");

  // Fill the request to just below, then just above, what each form of the headers needs.
  const { h: h2 } = await setup(t);
  const cost = (r) => Object.entries(r.headers).filter(([k]) => k.startsWith("x-edgeflag-")).reduce((n, [, [h]]) => n + h.key.length + h.value.length + 4, 0);
  const filled = (n) => viewerRequest("/all", ["ef_uid=u1"], { "x-filler": [{ key: "X-Filler", value: "f".repeat(n) }] });
  const plain = await h2.viewerRequest(await filled(0));
  const full = cost(plain);
  const base = requestSize(plain) - full;
  const room = REQUEST_LIMIT - CLOUDFRONT_RESERVE - base; // for the edge's headers with no filler
  const statusOf = async (n) => {
    const r = await h2.viewerRequest(await filled(n));
    const added = cost(r);
    if (added) assert.ok(requestSize(r) <= REQUEST_LIMIT - CLOUDFRONT_RESERVE, `filler ${n}: ${requestSize(r)} bytes`);
    return [header(r.headers, "x-edgeflag-status") ?? null, added];
  };
  assert.equal((await statusOf(room - full))[0], "ok", "exactly room for everything");
  const [slimStatus, slimCost] = await statusOf(room - full + 1);
  assert.equal(slimStatus, "ok; flags=values-omitted");
  assert.equal((await statusOf(room - slimCost))[0], "ok; flags=values-omitted");
  const [noneStatus, none] = await statusOf(room - slimCost + 1);
  assert.equal(noneStatus, "ok; flags=omitted");
  assert.equal((await statusOf(room - none))[0], "ok; flags=omitted");
  assert.equal((await statusOf(room - none + 1))[0], "ok; flags=omitted; oversize", "no room for the variant key: only the status");
  assert.deepEqual(await statusOf(room), [null, 0], "no room at all: nothing added");
});

test("non-ASCII values are escaped: the header is ASCII", async (t) => {
  const { h } = await setup(t, { bundle: null, config: shopConfig({ defaults: { ...shopConfig().defaults, "checkout-button-color": "grün\u2028" } }) });
  const req = await h.viewerRequest(await viewerRequest("/checkout/x", ["ef_uid=u1"]));
  const v = header(req.headers, "x-edgeflag-flags");
  assert.match(v, /^[\x20-\x7e]+$/);
  assert.equal(JSON.parse(v)["checkout-button-color"].value, "grün\u2028");
});

test("an expired bundle: defaults are served and the status says so", async (t) => {
  const clock = { now: T0 + 3600e3 };
  const { h } = await setup(t, { clock });
  const ok = await h.viewerRequest(await viewerRequest("/checkout/x", ["ef_uid=u1"]));
  assert.equal(header(ok.headers, "x-edgeflag-status"), "ok");
  clock.now = T0 + 721 * 3600e3; // past the 720 h TTL, no grace
  const req = await h.viewerRequest(await viewerRequest("/checkout/x", ["ef_uid=u1"]));
  assert.equal(header(req.headers, "x-edgeflag-status"), "expired");
  assert.equal(header(req.headers, "x-edgeflag-version"), "0");
  assert.equal(header(req.headers, "x-edgeflag-variant-key"), "!,!");
  assert.deepEqual(flagsOf(req), {
    "new-checkout": { value: false, variant: "", reason: "ERROR", errorCode: "PROVIDER_NOT_READY" },
    "checkout-button-color": { value: "#1a73e8", variant: "", reason: "ERROR", errorCode: "PROVIDER_NOT_READY" },
  });
  // Expired when the instance starts, and within a grace.
  const late = await setup(t, { clock: { now: T0 + 800 * 3600e3 } });
  const r = await late.h.viewerRequest(await viewerRequest("/", []));
  assert.equal(header(r.headers, "x-edgeflag-status"), "expired");
  assert.match(late.logs.join("\n"), /ErrExpired/);
  const graced = await setup(t, { clock: { now: T0 + 800 * 3600e3 }, config: shopConfig({ graceSeconds: 100 * 3600 }) });
  assert.equal(header((await graced.h.viewerRequest(await viewerRequest("/", []))).headers, "x-edgeflag-status"), "ok");
});

test("a missing or refused bundle: defaults, and the status says which", async (t) => {
  const { h } = await setup(t, { bundle: null });
  const req = await h.viewerRequest(await viewerRequest("/", ["ef_uid=u1"]));
  assert.equal(header(req.headers, "x-edgeflag-status"), "missing");
  assert.deepEqual(flagsOf(req)["homepage-banner"].value, { show: false });
  assert.equal(header(req.headers, "x-edgeflag-variant-key"), "!");
  const tampered = (await shop(await tempDir(t))).bundles[1]; // signed by another key
  const bad = await setup(t, { bundle: tampered });
  const r = await bad.h.viewerRequest(await viewerRequest("/", ["ef_uid=u1"]));
  assert.equal(header(r.headers, "x-edgeflag-status"), "invalid");
  assert.match(bad.logs.join("\n"), /ErrUnknownKey|ErrSignature/);
});

test("a configuration the handlers refuse: requests pass with status error, nothing is evaluated", async (t) => {
  const { h, logs } = await setup(t, { config: shopConfig({ routes: [{ pattern: "no-slash", flags: [] }] }) });
  const req = await h.viewerRequest(await viewerRequest("/checkout/x", [], { "x-edgeflag-flags": [{ key: "X-Edgeflag-Flags", value: "spoof" }] }));
  assert.equal(header(req.headers, "x-edgeflag-status"), "error");
  assert.equal(req.headers["x-edgeflag-flags"], undefined);
  assert.match(logs.join("\n"), /routes\[0\]\.pattern: a pattern starts with \//);
  const res = await h.viewerResponse(await responseFor(req));
  assert.equal(res.headers["set-cookie"].length, 1);
});

// The flood runs on the module of the pass (make edge-test runs this file
// on the Go module, then again on the TinyGo one, which the viewer package
// ships), with that module's bounds. Each runtime settles its heap over the
// first requests and then stays put (measured with 22-character units: Go
// 5.0 MB at start, 9.2 MB after 100 000 requests, 9.4 MB from 360 000 on,
// flat to 1.5 million; TinyGo 16.25 MiB from the first 100 000 to 1.5
// million): memory is bounded per module, and TinyGo's does not grow at all
// over the last 40 000 requests (Go's may, by ~1.5 MiB, while it settles).
// Other modules (the ES256 build) are Go builds and take Go's bounds. The
// JavaScript side holds nothing per request: its heap is flat.
const FLOOD_BOUNDS = { "edgeflag.tiny.wasm": { capMiB: 20, growMiB: 0 } };
const { capMiB, growMiB } = FLOOD_BOUNDS[path.basename(MODULE)] ?? { capMiB: 12, growMiB: 3 };

test(`a flood through one instance on ${path.basename(MODULE)}: 100 000 requests, memory flat`, async (t) => {
  const { h } = await setup(t);
  const edge = await h.edge();
  const mem = () => edge.engine.inst.memory.buffer.byteLength;
  const gc = globalThis.gc ?? (() => {});
  const ev = await viewerRequest("/checkout/pay");
  const batch = async (n, offset) => {
    for (let i = 0; i < n; i++) {
      const e = structuredClone(ev);
      e.Records[0].cf.request.headers.cookie = [{ key: "Cookie", value: `ef_uid=${(offset + i).toString(36).padStart(22, "0")}` }];
      const r = await h.viewerRequest(e);
      if (i % 9973 === 0) assert.equal(header(r.headers, "x-edgeflag-status"), "ok");
    }
  };
  await batch(60000, 0);
  gc();
  const heap0 = process.memoryUsage().heapUsed, wasm0 = mem();
  await batch(40000, 60000);
  gc();
  const heap1 = process.memoryUsage().heapUsed, wasm1 = mem();
  t.diagnostic(`requests 60 000 → 100 000: JS heap ${(heap0 / 1e6).toFixed(2)} → ${(heap1 / 1e6).toFixed(2)} MB; module memory ${(wasm0 / 1048576).toFixed(2)} → ${(wasm1 / 1048576).toFixed(2)} MiB; gc ${globalThis.gc ? "forced" : "not exposed"}`);
  assert.ok(wasm1 <= capMiB * 1048576, `the module's memory reached ${wasm1} bytes`);
  assert.ok(wasm1 - wasm0 <= growMiB * 1048576, `the module's memory grew ${wasm1 - wasm0} bytes over 40 000 requests`);
  assert.ok(heap1 - heap0 < 2e6, `the JS heap grew ${heap1 - heap0} bytes over 40 000 requests`);
  assert.equal(edge.engine.traps, 0);
  assert.equal(edge.stats.requests, 100000);
});

// A local origin for the refresh: serves whatever body it is given, with an ETag, 304 on If-None-Match.
async function bundleServer(t) {
  const state = { body: null, etag: null, status: 200, hits: [] };
  const srv = http.createServer((req, res) => {
    state.hits.push({ inm: req.headers["if-none-match"] ?? null });
    if (state.status !== 200) return res.writeHead(state.status).end();
    if (state.etag && req.headers["if-none-match"] === state.etag) return res.writeHead(304, { ETag: state.etag }).end();
    res.writeHead(200, { "Content-Type": "application/jose", ETag: state.etag }).end(state.body);
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => srv.close(r)));
  state.url = `http://127.0.0.1:${srv.address().port}/client.jws`;
  return state;
}

test("origin-request refresh: a new version is verified and used; 304, tampered, older and unreachable keep the last good one", async (t) => {
  const srv = await bundleServer(t);
  const clock = { now: T0 + 30 * 3600e3 };
  const config = shopConfig({ refresh: { url: srv.url, intervalSeconds: 60, timeoutSeconds: 2 } });
  const { h, s, logs } = await setup(t, { config, clock, versions: [1, 2, 3], fetch: (...a) => fetch(...a) });
  const origin = async () => {
    const ev = await fixture("origin-request");
    ev.Records[0].cf.request.headers.cookie = [{ key: "Cookie", value: "ef_uid=u1" }];
    const req = await h.originRequest(ev);
    return [header(req.headers, "x-edgeflag-version"), header(req.headers, "x-edgeflag-status")];
  };
  const step = async (dt) => {
    clock.now += dt * 1000;
    return origin();
  };
  // A viewer-request event never refreshes.
  srv.body = Buffer.from(s.bundles[2]);
  srv.etag = '"v2"';
  await h.viewerRequest(await viewerRequest("/"));
  assert.equal(srv.hits.length, 0);
  // First origin request: fetched, verified, in use for this very request.
  assert.deepEqual(await origin(), ["2", "ok"]);
  assert.deepEqual(srv.hits.at(-1), { inm: null });
  // Within the interval: no fetch.
  assert.deepEqual(await step(30), ["2", "ok"]);
  assert.equal(srv.hits.length, 1);
  // Unchanged: If-None-Match, 304.
  assert.deepEqual(await step(31), ["2", "ok"]);
  assert.deepEqual(srv.hits.at(-1), { inm: '"v2"' });
  // Tampered: refused, v2 stays.
  // One signature character replaced by another of the base64url alphabet
  // (a flipped bit could leave the alphabet: ErrMalformed, not the point).
  const bad = Buffer.from(s.bundles[3]);
  bad[bad.length - 3] = bad[bad.length - 3] === 0x41 ? 0x42 : 0x41;
  srv.body = bad;
  srv.etag = '"v3-bad"';
  assert.deepEqual(await step(61), ["2", "ok"]);
  assert.match(logs.join("\n"), /ErrSignature/);
  // Older: refused (no rollback), v2 stays.
  srv.body = Buffer.from(s.bundles[1]);
  srv.etag = '"v1"';
  assert.deepEqual(await step(61), ["2", "ok"]);
  assert.match(logs.join("\n"), /ErrRollback/);
  // Unreachable, then an error status: v2 stays.
  srv.status = 503;
  assert.deepEqual(await step(61), ["2", "ok"]);
  assert.match(logs.join("\n"), /refresh failed.*HTTP 503/);
  // A newer version: used.
  srv.status = 200;
  srv.body = Buffer.from(s.bundles[3]);
  srv.etag = '"v3"';
  assert.deepEqual(await step(61), ["3", "ok"]);
  const edge = await h.edge();
  assert.deepEqual({ refused: edge.stats.refused, updated: edge.stats.updated, notModified: edge.stats.notModified }, { refused: 2, updated: 2, notModified: 1 });
});

test("origin-request refresh rescues an expired or missing baked bundle", async (t) => {
  const srv = await bundleServer(t);
  const config = shopConfig({ refresh: { url: srv.url } });
  for (const bundle of ["v1", null]) {
    const clock = { now: T0 + 725 * 3600e3 }; // the baked v1 has expired; v2, issued 24 h later, has not
    const { h, s } = await setup(t, { config, clock, bundle, versions: [1, 2], issued: { 2: 24 }, fetch: (...a) => fetch(...a) });
    assert.equal(header((await h.viewerRequest(await viewerRequest("/"))).headers, "x-edgeflag-status"), bundle ? "expired" : "missing");
    srv.body = Buffer.from(s.bundles[2]);
    srv.etag = `"v2-${bundle}"`;
    const req = await h.originRequest(await fixture("origin-request"));
    assert.equal(header(req.headers, "x-edgeflag-status"), "ok", `baked ${bundle}`);
    assert.equal(header(req.headers, "x-edgeflag-version"), "2");
  }
});
