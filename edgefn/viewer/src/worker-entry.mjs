// The worker's entry module (docs/edge.md): bundled with the evaluator
// into one module by esbuild, beside four modules the runtime loads
// itself — the wasm module (a WebAssembly.Module: Workers cannot compile
// bytes), config.json, jwks.json (JSON modules) and bundle.jws (a data
// module) — named in its configuration (wrangler's or workerd's).
import wasm from "./edgeflag.wasm";
import config from "./config.json";
import jwks from "./jwks.json";
import bundle from "./bundle.jws";
import { createWorker } from "./worker.mjs";

export default createWorker({ config, jwks, bundle, wasm });
