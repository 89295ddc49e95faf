// Values mode: documents in edgefn's shape signed here with WebCrypto
// (Ed25519 and P-256, the two token key types edgefn allows), verified by
// verifyValues against a JWKS; every refusal; and createClient in values
// mode, which loads no wasm. The real edgefn's values: edgefn.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { verifyValues, parseValues, importJWKS, createClient, memoryStorage } from "../index.mjs";
import { b64urlEncode } from "../values.mjs";
import { fakeEdgefn } from "./lib/fakeedgefn.mjs";

const utf8 = new TextEncoder();
const b64j = (o) => b64urlEncode(utf8.encode(typeof o === "string" ? o : JSON.stringify(o)));

/** tokenKey makes a token key of alg and its public JWK (kid = RFC 7638 thumbprint). */
async function tokenKey(alg) {
  const params = alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const kp = await crypto.subtle.generateKey(params, true, ["sign", "verify"]);
  const j = await crypto.subtle.exportKey("jwk", kp.publicKey);
  const canon = alg === "EdDSA" ? `{"crv":"Ed25519","kty":"OKP","x":"${j.x}"}` : `{"crv":"P-256","kty":"EC","x":"${j.x}","y":"${j.y}"}`;
  const kid = b64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(canon))));
  const jwk = alg === "EdDSA" ? { use: "sig", kty: "OKP", kid, crv: "Ed25519", alg, x: j.x } : { use: "sig", kty: "EC", kid, crv: "P-256", alg, x: j.x, y: j.y };
  const sign = async (header, payload) => {
    const input = b64j(header) + "." + b64j(payload);
    const sp = alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    return input + "." + b64urlEncode(new Uint8Array(await crypto.subtle.sign(sp, kp.privateKey, utf8.encode(input))));
  };
  return { kid, alg, jwk, sign };
}

const now = Date.parse("2026-06-01T12:00:00Z");
const payload = (extra = {}) => ({ project: "shop", environment: "production", version: 7, subject: "user-123",
  flags: { "new-checkout": { value: true, variant: "on", reason: "SPLIT", ruleId: "na-pro" },
    banner: { value: { title: "Hi" }, variant: "spring", reason: "STATIC" },
    "button-color": { value: "grey", variant: "control", reason: "DEFAULT", errorCode: "TARGETING_KEY_MISSING" } },
  issuedAt: now / 1000 - 60, expiresAt: now / 1000 + 600, ...extra });
const header = (k, extra = {}) => ({ alg: k.alg, kid: k.kid, typ: "edgeflag-values+jws", ...extra });
const opts = (k, extra = {}) => ({ jwks: { keys: [k.jwk] }, project: "shop", environment: "production", subject: "user-123", now, ...extra });

for (const alg of ["EdDSA", "ES256"]) {
  test(`values signed with ${alg} verify with WebCrypto; results in edgeflag eval's shape`, async () => {
    const k = await tokenKey(alg);
    const v = await verifyValues(await k.sign(header(k), payload()), opts(k));
    assert.equal(v.verified, true);
    assert.equal(v.version, 7);
    assert.deepEqual(v.evaluate("new-checkout"), { key: "new-checkout", value: true, variant: "on", reason: "SPLIT", ruleId: "na-pro", version: 7 });
    assert.deepEqual(v.evaluate("button-color"), { key: "button-color", value: "grey", variant: "control", reason: "DEFAULT", errorCode: "TARGETING_KEY_MISSING", version: 7 });
    assert.deepEqual(v.evaluate("banner", "object").value, { title: "Hi" });
    assert.equal(v.evaluate("banner", "string").errorCode, "TYPE_MISMATCH");
    assert.equal(v.evaluate("missing").errorCode, "FLAG_NOT_FOUND");
    assert.equal(v.evaluate("toString").errorCode, "FLAG_NOT_FOUND");
    assert.deepEqual(v.evaluateAll().map((r) => r.key), ["banner", "button-color", "new-checkout"]);
  });
}

test("every refusal of verifyValues", async () => {
  const k = await tokenKey("EdDSA");
  const other = await tokenKey("EdDSA");
  const ec = await tokenKey("ES256");
  const good = await k.sign(header(k), payload());
  const cases = [
    ["tampered payload", good.split(".").map((p, i) => (i === 1 ? b64j(payload({ version: 8 })) : p)).join("."), opts(k), "ErrSignature"],
    ["other key, same kid", await other.sign(header(k), payload()), opts(k), "ErrSignature"],
    ["unknown kid", await other.sign(header(other), payload()), opts(k), "ErrUnknownKey"],
    ["alg of another key type", await k.sign(header(k, { alg: "ES256" }), payload()), opts(k), "ErrAlgorithm"],
    ["alg none", b64j(header(k, { alg: "none" })) + "." + b64j(payload()) + ".", opts(k), "ErrAlgorithm"],
    ["HS256", await k.sign(header(k, { alg: "HS256" }), payload()), opts(k), "ErrAlgorithm"],
    ["typ of a token", await k.sign(header(k, { typ: "edgeflag-token+jwt" }), payload()), opts(k), "ErrMalformed"],
    ["jku header", await k.sign(header(k, { jku: "https://evil.example" }), payload()), opts(k), "ErrUnknownField"],
    ["unknown payload member", await k.sign(header(k), payload({ admin: true })), opts(k), "ErrUnknownField"],
    ["another project", good, opts(k, { project: "blog" }), "ErrProject"],
    ["another environment", good, opts(k, { environment: "staging" }), "ErrEnvironment"],
    ["another subject", good, opts(k, { subject: "user-9" }), "ErrSubject"],
    ["expired", good, opts(k, { now: now + 601000 }), "ErrExpired"],
    ["issued in the future", good, opts(k, { now: now - 3600000 }), "ErrNotYetValid"],
    ["older than seen", good, opts(k, { lastVersion: 8 }), "ErrRollback"],
    ["padded base64", good.replace(".", "=."), opts(k), "ErrMalformed"],
    ["two parts", good.split(".").slice(0, 2).join("."), opts(k), "ErrMalformed"],
    ["a P-256 signature from a mismatched key", await ec.sign(header(ec), payload()), opts(k, { jwks: { keys: [k.jwk, (await tokenKey("ES256")).jwk] } }), "ErrUnknownKey"],
  ];
  for (const [name, jws, o, code] of cases) await assert.rejects(verifyValues(jws, o), { code }, name);
  assert.equal((await verifyValues(good, opts(k, { now: now + 601000, grace: 5 }))).version, 7, "grace extends the expiry");
  assert.equal(parseValues(good).verified, false);
});

test("importJWKS is strict: public keys only, kid is the thumbprint, known members", async () => {
  const k = await tokenKey("EdDSA");
  for (const [name, jwks] of [
    ["private key", { keys: [{ ...k.jwk, d: "AAAA" }] }],
    ["wrong kid", { keys: [{ ...k.jwk, kid: "x" }] }],
    ["unknown member", { keys: [{ ...k.jwk, key_ops: "verify" }] }],
    ["alg mismatch", { keys: [{ ...k.jwk, alg: "ES256" }] }],
    ["use enc", { keys: [{ ...k.jwk, use: "enc" }] }],
    ["RSA", { keys: [{ kty: "RSA", kid: "x", n: "AQAB", e: "AQAB" }] }],
    ["duplicate", { keys: [k.jwk, k.jwk] }],
    ["empty", { keys: [] }],
    ["extra top-level member", { keys: [k.jwk], x: 1 }],
  ]) await assert.rejects(importJWKS(jwks), { code: "ErrJWKS" }, name);
  assert.equal((await importJWKS({ keys: [k.jwk] })).size, 1);
});

test("createClient in values mode: fetches ?mode=values, verifies, evaluates, loads no wasm", async (t) => {
  const k = await tokenKey("ES256");
  const f = await fakeEdgefn({ stream: false });
  t.after(() => f.close());
  f.setValues(await k.sign(header(k), payload()));
  f.version = 7;
  const c = createClient({ mode: "values", bootstrapUrl: f.bootstrapUrl, token: f.token, valuesJwks: { keys: [k.jwk] }, subject: "user-123",
    project: "shop", environment: "production", wasm: "http://127.0.0.1:1/never.wasm", clock: () => now, storage: memoryStorage(), refreshSeconds: 0, onError: () => {} });
  t.after(() => c.close());
  await c.ready;
  assert.equal(c.engine, null);
  assert.equal(f.requests[0].query, "?mode=values");
  assert.equal(c.evaluate("new-checkout").variant, "on");
  assert.equal(await c.refresh(), false, "304 on the values' ETag");
  // A document signed by a key the client does not pin is refused.
  const rogue = await tokenKey("ES256");
  f.setValues(await rogue.sign(header(rogue), payload({ version: 8 })));
  await assert.rejects(c.refresh(), { code: "ErrUnknownKey" });
  assert.equal(c.version, 7);
});
