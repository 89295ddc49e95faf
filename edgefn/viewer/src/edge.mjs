// The edge evaluator shared by every runtime (Lambda@Edge, fetch-style
// workers): the baked configuration, the verified bundle in the wasm
// engine, and the decision for one request — route, unit, results, and
// the headers that carry them to the origin (docs/edge.md).

import { Engine, loadModule } from "../../../wasm/js/engine.mjs";
import { checkConfig } from "./config.mjs";
import { Router } from "./routes.mjs";
import { newUnit, readUnit, cryptoRandom } from "./unit.mjs";

/** The headers the edge writes; any a viewer sends with these names is removed. */
export const HEADERS = Object.freeze({
  flags: "x-edgeflag-flags",
  variantKey: "x-edgeflag-variant-key",
  status: "x-edgeflag-status",
  version: "x-edgeflag-version",
  unit: "x-edgeflag-unit",
});
/** OWN_PREFIX starts every header the edge owns. */
export const OWN_PREFIX = "x-edgeflag-";

/** The variant key's separator and its mark for a configured default served. */
export const KEY_SEPARATOR = ",";
export const DEFAULT_MARK = "!";

/** MAX_BUNDLE bounds a bundle fetched by a refresh (the verifier's limit on compressed payloads, base64url). */
export const MAX_BUNDLE = 12 << 20;

const nonASCII = /[\u007f-\uffff]/g;
const asciiJSON = (v) => JSON.stringify(v).replace(nonASCII, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));

/**
 * Edge holds one engine instance and the state of its bundle: "ok" (a
 * verified bundle within its validity), "expired" (past expiry and
 * grace), "missing" (none baked or fetched) or "invalid" (the baked one
 * was refused).
 */
export class Edge {
  /**
   * create checks config (config.json's content), compiles the module
   * (a WebAssembly.Module, bytes or a URL), sets the trust (jwks: the
   * parsed JWKS) and opens bundle (Uint8Array, or null) at now().
   * Options: now() → milliseconds, random(n) → n bytes, log(line).
   */
  static async create({ config, jwks, bundle, wasm, now = Date.now, random = cryptoRandom, log }) {
    const cfg = checkConfig(config);
    const module = await loadModule(wasm);
    const engine = await Engine.create(module, { log });
    const e = new Edge(cfg, engine, { now, random, log: log ?? ((s) => console.error(s)) });
    engine.setTrust({ jwks, project: cfg.project, environment: cfg.environment, audience: "client", grace: cfg.graceSeconds, maxSkew: 300 });
    if (bundle && bundle.length > 0) {
      e.openBundle(bundle, "baked");
      if (e.state !== "ok") e.state = e.state === "expired" ? "expired" : "invalid";
    }
    return e;
  }

  constructor(cfg, engine, { now, random, log }) {
    this.config = cfg;
    this.engine = engine;
    this.now = now;
    this.random = random;
    this.log = log;
    this.router = new Router(cfg.routes);
    this.claims = null;
    this.state = "missing";
    this.expiresAtMs = 0;
    this.etag = null; // of the bundle in use when a refresh fetched it
    this.nextRefreshMs = 0;
    this.refreshing = null;
    /** Counters (tests, logs). */
    this.stats = { requests: 0, evaluations: 0, refreshes: 0, notModified: 0, refused: 0, updated: 0 };
    this.types = {};
    for (const [k, v] of Object.entries(cfg.defaults)) this.types[k] = typeof v;
  }

  /**
   * openBundle verifies bytes in the engine at the current time; on
   * success they replace the bundle in use (the engine refuses lower
   * versions), otherwise what was in use stays. Returns the error, or null.
   */
  openBundle(bytes, source) {
    try {
      const claims = this.engine.open(bytes, this.now());
      this.claims = claims;
      this.expiresAtMs = claims.expiresAt * 1000 + this.config.graceSeconds * 1000;
      this.state = "ok";
      return null;
    } catch (e) {
      if (this.claims === null && e.code === "ErrExpired") this.state = "expired";
      this.log(JSON.stringify({ msg: "edgeflag: bundle refused", source, error: e.code ?? "Error", detail: e.message }));
      return e;
    }
  }

  /** version is the version of the bundle in use (0: none). */
  get version() {
    return this.claims ? this.claims.version : 0;
  }

  /** currentState re-checks the expiry of the bundle in use at now. */
  currentState(nowMs) {
    if (this.state === "ok" && nowMs > this.expiresAtMs) return "expired";
    return this.state;
  }

  /**
   * decide evaluates the flags of the route that path matches for the
   * unit in the cookie headers (an array of Cookie header values) —
   * a new random unit when it is absent or invalid — with context
   * attributes from header(name). It returns null when no route matches,
   * else {route, unit, unitState, state, version, results, variantKey}.
   */
  decide(path, cookies, header) {
    this.stats.requests++;
    const route = this.router.match(path);
    if (!route || route.flags.length === 0) return null;
    const found = readUnit(cookies);
    const unit = found.state === "ok" ? found.unit : newUnit(this.random);
    const nowMs = this.now();
    const state = this.currentState(nowMs);
    const ctx = { targetingKey: unit };
    for (const [attr, src] of Object.entries(this.config.context)) {
      const v = header(src.header);
      if (typeof v === "string" && v !== "") ctx[attr] = v.slice(0, 256);
    }
    const results = {};
    const variants = [];
    for (const key of route.flags) {
      const def = this.config.defaults[key];
      let r;
      if (state === "ok") {
        this.stats.evaluations++;
        r = JSON.parse(this.engine.evaluateJSON(key, ctx, nowMs, this.types[key]));
        if (r.value === null || r.reason === "ERROR") r = { value: def, variant: "", reason: "ERROR", errorCode: r.errorCode ?? "GENERAL" };
      } else {
        r = { value: def, variant: "", reason: "ERROR", errorCode: "PROVIDER_NOT_READY" };
      }
      const out = { value: r.value, variant: r.variant, reason: r.reason };
      if (r.errorCode) out.errorCode = r.errorCode;
      results[key] = out;
      variants.push(r.variant === "" ? DEFAULT_MARK : r.variant);
    }
    return { route, unit, unitState: found.state, state, version: state === "ok" ? this.version : 0, results, variantKey: variants.join(KEY_SEPARATOR) };
  }

  /**
   * headersFor renders a decision as the headers for the origin, within
   * budget bytes (name + value + 4 per header, as on the wire): the
   * variant key, status, version and unit first; then the results with
   * their values, or without them, or not at all, whichever fits (the
   * status says which). Returns [[name, value], …].
   */
  headersFor(d, budget) {
    const cost = (h) => h.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    let status = d.state;
    const base = [[HEADERS.variantKey, d.variantKey], [HEADERS.version, String(d.version)], [HEADERS.unit, d.unit]];
    const max = this.config.flagsHeaderMaxBytes;
    const full = asciiJSON(d.results);
    let flags = full;
    if (full.length > max || cost(base) + cost([[HEADERS.status, status], [HEADERS.flags, full]]) > budget) {
      const slim = {};
      for (const [k, r] of Object.entries(d.results)) {
        slim[k] = { variant: r.variant, reason: r.reason, ...(r.errorCode ? { errorCode: r.errorCode } : {}) };
      }
      flags = asciiJSON(slim);
      status += "; flags=values-omitted";
      if (flags.length > max || cost(base) + cost([[HEADERS.status, status], [HEADERS.flags, flags]]) > budget) {
        flags = null;
        status = d.state + "; flags=omitted";
      }
    }
    const out = [...base, [HEADERS.status, status]];
    if (flags !== null) out.push([HEADERS.flags, flags]);
    if (cost(out) > budget) {
      // Not even the variant key fits: say so, if that fits.
      const s = [[HEADERS.status, d.state + "; flags=omitted; oversize"]];
      return cost(s) <= budget ? s : [];
    }
    return out;
  }

  /**
   * refresh fetches config.refresh.url with If-None-Match when the
   * interval has passed (fetchFn: the fetch API), verifies a new bundle in
   * the engine and uses it only if it verifies and is not older than the
   * one in use (the engine refuses lower versions; the baked bundle stays
   * the last-known-good). It never throws; it returns what happened:
   * "skipped", "not-modified", "updated", "refused" or "failed".
   */
  async refresh(fetchFn) {
    const r = this.config.refresh;
    if (!r) return "skipped";
    const nowMs = this.now();
    if (nowMs < this.nextRefreshMs) return "skipped";
    if (this.refreshing) return this.refreshing;
    this.nextRefreshMs = nowMs + r.intervalSeconds * 1000;
    this.refreshing = this.fetchBundle(fetchFn, r).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  async fetchBundle(fetchFn, r) {
    this.stats.refreshes++;
    const headers = { accept: "application/jose" };
    if (this.etag) headers["if-none-match"] = this.etag;
    let res, bytes;
    try {
      res = await fetchFn(r.url, { headers, signal: AbortSignal.timeout(r.timeoutSeconds * 1000) });
      if (res.status === 304) {
        this.stats.notModified++;
        return "not-modified";
      }
      if (res.status !== 200) {
        await res.body?.cancel?.();
        throw new Error(`HTTP ${res.status}`);
      }
      const len = Number(res.headers.get("content-length") ?? 0);
      if (len > MAX_BUNDLE) throw new Error(`${len} bytes, over ${MAX_BUNDLE}`);
      bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > MAX_BUNDLE) throw new Error(`${bytes.length} bytes, over ${MAX_BUNDLE}`);
    } catch (e) {
      this.log(JSON.stringify({ msg: "edgeflag: refresh failed", url: r.url, detail: e.message }));
      return "failed";
    }
    const before = this.version;
    const err = this.openBundle(bytes, r.url);
    if (err) {
      this.stats.refused++;
      return "refused";
    }
    this.etag = res.headers.get("etag");
    if (this.version === before) return "not-modified";
    this.stats.updated++;
    this.log(JSON.stringify({ msg: "edgeflag: bundle updated", from: before, to: this.version }));
    return "updated";
  }
}

