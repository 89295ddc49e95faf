// openBundle: verify a signed bundle inside the module and evaluate it.

import { Engine, loadModule } from "./engine.mjs";
import { EdgeflagError } from "./errors.mjs";

// The trust document's members (docs/wasm-abi.md §3.1) are the options'.
const TRUST_MEMBERS = ["jwks", "project", "environment", "audience", "grace", "maxSkew", "lastVersion",
  "algorithms", "maxCompressed", "maxDecompressed"];

/** trustDocument picks the trust members out of openBundle's options. */
export function trustDocument(opts) {
  const doc = {};
  for (const k of TRUST_MEMBERS) if (opts[k] !== undefined) doc[k] = opts[k];
  return doc;
}

/** claimsOf turns the module's claims (Unix seconds) into Dates. */
function claimsOf(c) {
  return Object.freeze({
    version: c.version, project: c.project, environment: c.environment, audience: c.audience,
    algorithm: c.algorithm, keyId: c.keyId, issuedAt: new Date(c.issuedAt * 1000),
    expiresAt: new Date(c.expiresAt * 1000), flags: c.flags,
  });
}

/**
 * Bundle is an opened, verified bundle. Its evaluations are synchronous
 * and return plain objects with exactly the fields and values that
 * `edgeflag eval` prints (key, value, variant, reason, errorCode when set,
 * ruleId when set, version); the *JSON forms return that text itself.
 */
export class Bundle {
  constructor(engine, claims) {
    this.engine = engine;
    /** The verified claims. */
    this.claims = claimsOf(claims);
    /** The bundle version. */
    this.version = claims.version;
  }

  evaluate(flagKey, context, now, type) {
    return JSON.parse(this.engine.evaluateJSON(flagKey, context, now, type));
  }

  evaluateAll(context, now) {
    return JSON.parse(this.engine.evaluateAllJSON(context, now));
  }

  evaluateJSON(flagKey, context, now, type) {
    return this.engine.evaluateJSON(flagKey, context, now, type);
  }

  evaluateAllJSON(context, now) {
    return this.engine.evaluateAllJSON(context, now);
  }

  /** flagKeys lists the bundle's flags in key order. */
  flagKeys() {
    return this.evaluateAll({}, 0).map((r) => r.key);
  }

  /** close releases the module instance; later calls fail with ErrClosed. */
  close() {
    this.engine.close();
  }
}

/**
 * openBundle verifies bytes (the signed bundle exactly as received) inside
 * the module against opts (jwks, project, environment, audience, now,
 * grace, lastVersion, and the optional maxSkew, algorithms,
 * maxCompressed, maxDecompressed, wasm) and returns the opened Bundle. A
 * rejection is an EdgeflagError whose code is the verifier's (ErrSignature,
 * ErrExpired, ErrRollback, ...).
 */
export async function openBundle(bytes, opts = {}) {
  if (!opts || typeof opts !== "object") throw new EdgeflagError("ErrArgument", "openBundle: options are required");
  const module = await loadModule(opts.wasm, { fetch: opts.fetch });
  const engine = await Engine.create(module, { log: opts.log });
  engine.setTrust(trustDocument(opts));
  const claims = engine.open(bytes, opts.now);
  return new Bundle(engine, claims);
}
