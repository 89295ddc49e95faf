// Values mode (docs/browser.md "Values mode"): the evaluated values of
// GET /v1/bootstrap?mode=values, a compact JWS (typ edgeflag-values+jws)
// signed by edgefn's token key, verified here with WebCrypto against the
// pinned JWKS of GET /v1/keys. For clients that run no wasm.

import { EdgeflagError } from "./errors.mjs";
import { toMillis } from "./time.mjs";

export const VALUES_TYPE = "edgeflag-values+jws";
const B64URL = /^[A-Za-z0-9_-]*$/;
const KEY_MEMBERS = new Set(["kty", "crv", "x", "y", "kid", "alg", "use"]);
const HEADER_MEMBERS = new Set(["alg", "kid", "typ"]);
const PAYLOAD_MEMBERS = new Set(["project", "environment", "version", "subject", "flags", "issuedAt", "expiresAt"]);
const RESULT_MEMBERS = new Set(["value", "variant", "reason", "ruleId", "errorCode"]);
const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

/** b64url decodes unpadded base64url (RFC 7515), strictly. */
export function b64url(s, what) {
  if (typeof s !== "string" || !B64URL.test(s) || s.length % 4 === 1) {
    throw new EdgeflagError("ErrMalformed", `${what}: not unpadded base64url`);
  }
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Refuse non-canonical encodings (stray bits in the last character).
  if (b64urlEncode(out) !== s) throw new EdgeflagError("ErrMalformed", `${what}: not canonical base64url`);
  return out;
}

/** b64urlEncode encodes bytes as unpadded base64url. */
export function b64urlEncode(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jsonPart(bytes, what) {
  try {
    return JSON.parse(text.decode(bytes));
  } catch (e) {
    throw new EdgeflagError("ErrMalformed", `${what}: not UTF-8 JSON: ${e.message}`);
  }
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * importJWKS imports a JWKS (the parsed object of GET /v1/keys) for
 * verification: public Ed25519 (EdDSA) and P-256 (ES256) keys only, each
 * with members among kty, crv, x, y, kid, alg, use, its kid the RFC 7638
 * thumbprint. Resolves to a Map kid → {alg, key: CryptoKey}.
 */
export async function importJWKS(jwks) {
  if (!isObject(jwks) || !Array.isArray(jwks.keys) || Object.keys(jwks).length !== 1) {
    throw new EdgeflagError("ErrJWKS", 'want an object {"keys": [...]}');
  }
  if (jwks.keys.length === 0 || jwks.keys.length > 64) throw new EdgeflagError("ErrJWKS", "want 1 to 64 keys");
  const out = new Map();
  for (const [i, k] of jwks.keys.entries()) {
    const where = `key ${i}`;
    if (!isObject(k)) throw new EdgeflagError("ErrJWKS", `${where}: not an object`);
    if ("d" in k) throw new EdgeflagError("ErrJWKS", `${where}: a private key; publish only public keys`);
    for (const [m, v] of Object.entries(k)) {
      if (!KEY_MEMBERS.has(m)) throw new EdgeflagError("ErrJWKS", `${where}: member ${JSON.stringify(m)} is not allowed`);
      if (typeof v !== "string") throw new EdgeflagError("ErrJWKS", `${where}: ${m} must be a string`);
    }
    if (k.use !== undefined && k.use !== "sig") throw new EdgeflagError("ErrJWKS", `${where}: use must be sig`);
    let alg, raw, algorithm, canon;
    if (k.kty === "OKP" && k.crv === "Ed25519" && k.y === undefined) {
      alg = "EdDSA";
      raw = b64url(k.x ?? "", `${where}: x`);
      if (raw.length !== 32) throw new EdgeflagError("ErrJWKS", `${where}: x must be 32 bytes`);
      algorithm = { name: "Ed25519" };
      canon = `{"crv":"Ed25519","kty":"OKP","x":"${k.x}"}`;
    } else if (k.kty === "EC" && k.crv === "P-256") {
      alg = "ES256";
      const x = b64url(k.x ?? "", `${where}: x`), y = b64url(k.y ?? "", `${where}: y`);
      if (x.length !== 32 || y.length !== 32) throw new EdgeflagError("ErrJWKS", `${where}: x and y must be 32 bytes`);
      raw = new Uint8Array(65);
      raw[0] = 4;
      raw.set(x, 1);
      raw.set(y, 33);
      algorithm = { name: "ECDSA", namedCurve: "P-256" };
      canon = `{"crv":"P-256","kty":"EC","x":"${k.x}","y":"${k.y}"}`;
    } else {
      throw new EdgeflagError("ErrJWKS", `${where}: want an OKP Ed25519 or EC P-256 public key`);
    }
    if (k.alg !== undefined && k.alg !== alg) throw new EdgeflagError("ErrJWKS", `${where}: alg ${k.alg} does not fit a ${alg} key`);
    const tp = b64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(canon))));
    if (k.kid !== tp) throw new EdgeflagError("ErrJWKS", `${where}: kid ${JSON.stringify(k.kid)} is not the key's RFC 7638 thumbprint ${tp}`);
    if (out.has(tp)) throw new EdgeflagError("ErrJWKS", `${where}: kid ${tp} appears twice`);
    let key;
    try {
      key = await crypto.subtle.importKey("raw", raw, algorithm, false, ["verify"]);
    } catch (e) {
      throw new EdgeflagError("ErrJWKS", `${where}: this runtime's WebCrypto cannot import a ${alg} key: ${e.message}`, { cause: e });
    }
    out.set(tp, { alg, key });
  }
  return out;
}

/**
 * parseValues reads a values document without verifying its signature:
 * the header and payload checks only. The first paint of a server-rendered
 * page uses it synchronously (docs/browser.md "No flicker"); everything
 * else calls verifyValues.
 */
export function parseValues(jws, { project, environment } = {}) {
  if (typeof jws !== "string") throw new EdgeflagError("ErrMalformed", "values: want the compact JWS text");
  const parts = jws.split(".");
  if (parts.length !== 3) throw new EdgeflagError("ErrMalformed", "values: want three dot-separated parts");
  const header = jsonPart(b64url(parts[0], "values header"), "values header");
  if (!isObject(header)) throw new EdgeflagError("ErrMalformed", "values header: not an object");
  for (const m of Object.keys(header)) {
    if (!HEADER_MEMBERS.has(m)) throw new EdgeflagError("ErrUnknownField", `values header: member ${JSON.stringify(m)} is not allowed`);
  }
  if (header.typ !== VALUES_TYPE) throw new EdgeflagError("ErrMalformed", `values header: typ must be ${VALUES_TYPE}`);
  if (header.alg !== "EdDSA" && header.alg !== "ES256") throw new EdgeflagError("ErrAlgorithm", `values header: alg ${JSON.stringify(header.alg)} is not EdDSA or ES256`);
  if (typeof header.kid !== "string") throw new EdgeflagError("ErrMalformed", "values header: kid must be a string");
  const p = jsonPart(b64url(parts[1], "values payload"), "values payload");
  if (!isObject(p)) throw new EdgeflagError("ErrMalformed", "values payload: not an object");
  for (const m of Object.keys(p)) {
    if (!PAYLOAD_MEMBERS.has(m)) throw new EdgeflagError("ErrUnknownField", `values payload: member ${JSON.stringify(m)} is not allowed`);
  }
  for (const m of ["project", "environment", "subject"]) {
    if (typeof p[m] !== "string") throw new EdgeflagError("ErrMalformed", `values payload: ${m} must be a string`);
  }
  for (const m of ["version", "issuedAt", "expiresAt"]) {
    if (!Number.isSafeInteger(p[m]) || p[m] < 0) throw new EdgeflagError("ErrMalformed", `values payload: ${m} must be a non-negative integer`);
  }
  if (!isObject(p.flags)) throw new EdgeflagError("ErrMalformed", "values payload: flags must be an object");
  for (const [key, r] of Object.entries(p.flags)) {
    if (!isObject(r) || !("value" in r) || typeof r.variant !== "string" || typeof r.reason !== "string" ||
        Object.keys(r).some((m) => !RESULT_MEMBERS.has(m)) ||
        (r.ruleId !== undefined && typeof r.ruleId !== "string") || (r.errorCode !== undefined && typeof r.errorCode !== "string")) {
      throw new EdgeflagError("ErrMalformed", `values payload: flag ${JSON.stringify(key)}: want {value, variant, reason, ruleId?, errorCode?}`);
    }
  }
  if (project !== undefined && p.project !== project) throw new EdgeflagError("ErrProject", `values are for project ${JSON.stringify(p.project)}, want ${JSON.stringify(project)}`);
  if (environment !== undefined && p.environment !== environment) {
    throw new EdgeflagError("ErrEnvironment", `values are for environment ${JSON.stringify(p.environment)}, want ${JSON.stringify(environment)}`);
  }
  return new Values(p, header, false);
}

/**
 * verifyValues verifies a values document: the signature with WebCrypto
 * against jwks (the parsed /v1/keys JWKS, or the Map importJWKS made),
 * project, environment, subject (when given), expiry (expiresAt + grace
 * seconds > now), issue time (issuedAt ≤ now + maxSkew, default 300 s) and
 * version (≥ lastVersion). Resolves to a verified Values.
 */
export async function verifyValues(jws, opts = {}) {
  const v = parseValues(jws, opts);
  const keys = opts.jwks instanceof Map ? opts.jwks : await importJWKS(opts.jwks);
  const k = keys.get(v.header.kid);
  if (!k) throw new EdgeflagError("ErrUnknownKey", `values are signed by key ${JSON.stringify(v.header.kid)}, which the JWKS does not hold`);
  if (k.alg !== v.header.alg) throw new EdgeflagError("ErrAlgorithm", `values header alg ${v.header.alg} does not fit key ${v.header.kid} (${k.alg})`);
  const parts = jws.split(".");
  const sig = b64url(parts[2], "values signature");
  if (sig.length !== 64) throw new EdgeflagError("ErrSignature", "values signature: want 64 bytes");
  const params = k.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const ok = await crypto.subtle.verify(params, k.key, sig, utf8.encode(parts[0] + "." + parts[1]));
  if (!ok) throw new EdgeflagError("ErrSignature", "values signature does not verify");
  const p = v.payload;
  const now = toMillis(opts.now);
  const grace = opts.grace ?? 0, skew = opts.maxSkew ?? 300;
  if (opts.subject !== undefined && p.subject !== opts.subject) {
    throw new EdgeflagError("ErrSubject", `values are for subject ${JSON.stringify(p.subject)}, want ${JSON.stringify(opts.subject)}`);
  }
  if (now >= (p.expiresAt + grace) * 1000) throw new EdgeflagError("ErrExpired", `values expired at ${new Date(p.expiresAt * 1000).toISOString()}`);
  if (p.issuedAt * 1000 > now + skew * 1000) throw new EdgeflagError("ErrNotYetValid", `values issued at ${new Date(p.issuedAt * 1000).toISOString()}, in the future`);
  if (p.version < (opts.lastVersion ?? 0)) throw new EdgeflagError("ErrRollback", `values of version ${p.version}, lower than ${opts.lastVersion} seen before`);
  return new Values(p, v.header, true);
}

const TYPES = { boolean: "boolean", string: "string", number: "number", object: "object" };

/**
 * Values holds one values document. evaluate returns results in the shape
 * of edgeflag eval's (key, value, variant, reason, errorCode, ruleId,
 * version); a flag the document lacks is FLAG_NOT_FOUND.
 */
export class Values {
  constructor(payload, header, verified) {
    this.payload = payload;
    this.header = header;
    /** Whether the signature was checked (false only for parseValues). */
    this.verified = verified;
    this.version = payload.version;
    this.subject = payload.subject;
    this.issuedAt = new Date(payload.issuedAt * 1000);
    this.expiresAt = new Date(payload.expiresAt * 1000);
  }

  evaluate(flagKey, type) {
    const r = Object.hasOwn(this.payload.flags, flagKey) ? this.payload.flags[flagKey] : undefined;
    if (!r) return { key: flagKey, value: null, variant: "", reason: "ERROR", errorCode: "FLAG_NOT_FOUND", version: this.version };
    if (type && TYPES[type] && !matchesType(r.value, type)) {
      return { key: flagKey, value: null, variant: "", reason: "ERROR", errorCode: "TYPE_MISMATCH", version: this.version };
    }
    const out = { key: flagKey, value: r.value, variant: r.variant, reason: r.reason };
    if (r.errorCode) out.errorCode = r.errorCode;
    if (r.ruleId) out.ruleId = r.ruleId;
    out.version = this.version;
    return out;
  }

  evaluateAll() {
    return Object.keys(this.payload.flags).sort(byteOrder).map((k) => this.evaluate(k));
  }
}

function matchesType(v, type) {
  if (type === "object") return v !== null && typeof v === "object";
  return typeof v === type;
}

/** byteOrder compares strings by code point (UTF-8 byte order). */
export function byteOrder(a, b) {
  if (a === b) return 0;
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}
