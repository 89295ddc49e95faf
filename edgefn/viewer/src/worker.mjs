// A fetch-style handler (`export default { fetch }`: Cloudflare Workers
// and workerd, and runtimes with the same interface) over the same edge
// evaluator as the Lambda@Edge handlers (docs/edge.md): the route's flags
// go to the origin in the same headers, and the unit cookie is set on the
// response when the request had none (or an invalid one).

import { Edge, OWN_PREFIX } from "./edge.mjs";
import { checkConfig } from "./config.mjs";
import { setCookie } from "./unit.mjs";

/**
 * createWorker returns {fetch(request, env, ctx)}. sources: config (the
 * parsed config.json), jwks (parsed), bundle (Uint8Array or ArrayBuffer,
 * or null), wasm (a WebAssembly.Module: Workers import the .wasm as one).
 * origin(request, env, ctx) sends the request on (default: env.ORIGIN's
 * fetch when the worker has such a service binding, else fetch(request)).
 * Options for tests: now, random, log.
 */
export function createWorker({ config, jwks, bundle, wasm, origin, now = Date.now, random, log }) {
  const cfg = checkConfig(config);
  const bytes = bundle == null ? null : new Uint8Array(bundle);
  const send = origin ?? ((req, env) => (env?.ORIGIN ? env.ORIGIN.fetch(req) : fetch(req)));
  let edge = null;
  const getEdge = () => {
    edge ??= Edge.create({ config, jwks, bundle: bytes, wasm, now, random, log });
    edge.catch(() => {
      edge = null;
    });
    return edge;
  };
  return {
    async fetch(request, env, ctx) {
      const headers = new Headers(request.headers);
      for (const k of [...headers.keys()]) if (k.startsWith(OWN_PREFIX)) headers.delete(k);
      let d = null;
      try {
        const e = await getEdge();
        const cookie = headers.get("cookie");
        d = e.decide(new URL(request.url).pathname, cookie ? [cookie] : [], (name) => headers.get(name) ?? undefined);
        if (d) for (const [k, v] of e.headersFor(d, Infinity)) headers.set(k, v);
      } catch (err) {
        (log ?? ((s) => console.error(s)))(JSON.stringify({ msg: "edgeflag: evaluation failed", detail: err.message }));
        headers.set("x-edgeflag-status", "error");
      }
      const res = await send(new Request(request, { headers }), env, ctx);
      if (!d || d.unitState === "ok") return res;
      const out = new Response(res.body, res);
      out.headers.append("set-cookie", setCookie(d.unit, cfg.cookie));
      return out;
    },
  };
}
