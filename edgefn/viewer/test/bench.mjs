// node edgefn/viewer/test/bench.mjs: the viewer-request handler's cost per
// request in Node (a route of 2 flags and one of 4, the standard-Go module
// or EDGEFLAG_WASM), the first request of an instance (module compile +
// instantiate + open), and the viewer-response handler. Not a test: the
// figures of docs/performance.md. Median of 7 runs of 20 000 requests.
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { lambdaHandlers } from "../src/lambda.mjs";
import { MODULE, T0, shop, shopConfig, viewerRequest, responseFor } from "./lib.mjs";

const dir = await mkdtemp(path.join(tmpdir(), "edgeflag-edge-bench-"));
try {
  const s = await shop(dir);
  const wasm = await readFile(MODULE);
  const make = () => lambdaHandlers({ config: shopConfig(), jwks: s.jwks, bundle: () => s.bundles[1], wasm: () => wasm }, { now: () => T0 + 3600e3 });
  const cold = [];
  for (let i = 0; i < 5; i++) {
    const h = make();
    const t0 = performance.now();
    await h.viewerRequest(await viewerRequest("/checkout/pay"));
    cold.push(performance.now() - t0);
  }
  const h = make();
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  const per = async (uri, n = 20000) => {
    const runs = [];
    const evs = [];
    for (let i = 0; i < n; i++) {
      const e = await viewerRequest(uri, [`ef_uid=${i.toString(36).padStart(22, "0")}`]);
      evs.push(e);
    }
    for (let r = 0; r < 7; r++) {
      const batch = evs.map((e) => structuredClone(e));
      const t0 = performance.now();
      for (const e of batch) await h.viewerRequest(e);
      runs.push(((performance.now() - t0) * 1000) / n);
    }
    return median(runs);
  };
  await per("/checkout/pay", 5000); // warm
  const two = await per("/checkout/pay");
  const four = await per("/all");
  const none = await per("/static/app.js");
  const resEv = await responseFor((await viewerRequest("/checkout/pay")).Records[0].cf.request);
  const rr = [];
  for (let r = 0; r < 7; r++) {
    const batch = Array.from({ length: 20000 }, () => structuredClone(resEv));
    const t0 = performance.now();
    for (const e of batch) await h.viewerResponse(e);
    rr.push(((performance.now() - t0) * 1000) / 20000);
  }
  console.log(`module ${path.basename(MODULE)}, node ${process.version}`);
  console.log(`first request of an instance (compile, instantiate, verify+open, evaluate): median ${median(cold).toFixed(1)} ms of 5`);
  console.log(`viewer-request, route of 2 flags: ${two.toFixed(2)} µs/request`);
  console.log(`viewer-request, route of 4 flags: ${four.toFixed(2)} µs/request`);
  console.log(`viewer-request, no flags (static): ${none.toFixed(2)} µs/request`);
  console.log(`viewer-response (new unit: Set-Cookie): ${median(rr).toFixed(2)} µs/request`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
