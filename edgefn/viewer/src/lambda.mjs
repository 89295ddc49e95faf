// Lambda@Edge handlers over CloudFront events (docs/edge.md): the
// viewer-request handler (also an origin-request handler, which may
// refresh the bundle first) and the viewer-response handler (also an
// origin-response handler) that sets the unit cookie.

import { Edge, HEADERS, OWN_PREFIX } from "./edge.mjs";
import { checkConfig } from "./config.mjs";
import { readUnit, setCookie, validUnit } from "./unit.mjs";

/**
 * CloudFront's limit on a request's length, request line and headers
 * included (the body excluded), and the room left for the headers
 * CloudFront itself adds after the viewer-request event (Via,
 * X-Amz-Cf-Id, X-Forwarded-For, CloudFront-* when a policy asks).
 */
export const REQUEST_LIMIT = 20480;
export const CLOUDFRONT_RESERVE = 1024;

// The header names as sent (CloudFront keeps a `key` with the spelling).
const SPELLING = {
  [HEADERS.flags]: "X-Edgeflag-Flags", [HEADERS.variantKey]: "X-Edgeflag-Variant-Key",
  [HEADERS.status]: "X-Edgeflag-Status", [HEADERS.version]: "X-Edgeflag-Version", [HEADERS.unit]: "X-Edgeflag-Unit",
};

const values = (headers, name) => (headers?.[name] ?? []).map((h) => String(h.value));
const first = (headers, name) => headers?.[name]?.[0]?.value;

/** requestSize is a CloudFront request's length on the wire, body excluded. */
export function requestSize(req) {
  let n = (req.method ?? "GET").length + 1 + (req.uri ?? "/").length + (req.querystring ? 1 + req.querystring.length : 0) + 11;
  for (const list of Object.values(req.headers ?? {})) {
    for (const h of list) n += String(h.key ?? "").length + String(h.value ?? "").length + 4;
  }
  return n;
}

/**
 * lambdaHandlers returns the exported handlers. sources: {config (the
 * parsed config.json), jwks (parsed), bundle() → Uint8Array | null,
 * wasm() → bytes or a WebAssembly.Module}; options for tests: now,
 * random, fetch, log. The engine is built at the first request event,
 * so a viewer-response instance never loads the module.
 */
export function lambdaHandlers(sources, { now = Date.now, random, fetch: fetchFn = (...a) => globalThis.fetch(...a), log } = {}) {
  const logLine = log ?? ((s) => console.error(s));
  let cfg = null;
  let cfgError = null;
  try {
    cfg = checkConfig(sources.config);
  } catch (e) {
    cfgError = e;
    logLine(JSON.stringify({ msg: "edgeflag: configuration refused", detail: e.message }));
  }
  let edge = null;
  const getEdge = () => {
    if (cfgError) return Promise.reject(cfgError);
    edge ??= Edge.create({ config: sources.config, jwks: sources.jwks, bundle: sources.bundle(), wasm: sources.wasm(), now, random, log: logLine });
    edge.catch(() => {
      edge = null; // the next request tries again
    });
    return edge;
  };

  async function onRequest(event) {
    const cf = event.Records[0].cf;
    const req = cf.request;
    req.headers ??= {};
    for (const k of Object.keys(req.headers)) if (k.startsWith(OWN_PREFIX)) delete req.headers[k];
    let e;
    try {
      e = await getEdge();
    } catch (err) {
      logLine(JSON.stringify({ msg: "edgeflag: the evaluator could not start", detail: err.message }));
      req.headers[HEADERS.status] = [{ key: SPELLING[HEADERS.status], value: "error" }];
      return req;
    }
    if (cf.config?.eventType === "origin-request") await e.refresh(fetchFn);
    let d;
    try {
      d = e.decide(req.uri ?? "/", values(req.headers, "cookie"), (name) => first(req.headers, name));
    } catch (err) {
      logLine(JSON.stringify({ msg: "edgeflag: evaluation failed", detail: err.message }));
      req.headers[HEADERS.status] = [{ key: SPELLING[HEADERS.status], value: "error" }];
      return req;
    }
    if (!d) return req;
    const budget = REQUEST_LIMIT - CLOUDFRONT_RESERVE - requestSize(req);
    for (const [k, v] of e.headersFor(d, budget)) req.headers[k] = [{ key: SPELLING[k], value: v }];
    return req;
  }

  function onResponse(event) {
    const cf = event.Records[0].cf;
    const res = cf.response;
    const unit = first(cf.request?.headers, HEADERS.unit);
    if (!cfg || !validUnit(unit)) return res;
    const sent = readUnit(values(cf.request.headers, "cookie"));
    if (sent.state === "ok" && sent.unit === unit) return res;
    res.headers ??= {};
    (res.headers["set-cookie"] ??= []).push({ key: "Set-Cookie", value: setCookie(unit, cfg.cookie) });
    return res;
  }

  /** handler dispatches on the event type: one function for any trigger. */
  async function handler(event) {
    const type = event?.Records?.[0]?.cf?.config?.eventType;
    if (type === "viewer-response" || type === "origin-response") return onResponse(event);
    return onRequest(event);
  }

  return { viewerRequest: handler, originRequest: handler, viewerResponse: handler, originResponse: handler, handler, edge: () => getEdge() };
}
