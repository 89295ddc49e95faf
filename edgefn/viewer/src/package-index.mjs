// index.mjs of the Lambda@Edge package that `make edge` writes
// (edgefn/viewer/dist/edge.zip): the handlers over what was baked into
// the package at build time, in baked/. Lambda@Edge has no environment
// variables; everything the functions need is in the zip.
import { readFileSync } from "node:fs";
import { lambdaHandlers } from "./edgefn/viewer/src/lambda.mjs";

const read = (name) => readFileSync(new URL("./baked/" + name, import.meta.url));

const handlers = lambdaHandlers({
  config: JSON.parse(read("config.json")),
  jwks: JSON.parse(read("jwks.json")),
  bundle() {
    try {
      return new Uint8Array(read("bundle.jws"));
    } catch (e) {
      if (e.code === "ENOENT") return null; // packaged without a bundle: defaults until a refresh succeeds
      throw e;
    }
  },
  wasm: () => read("edgeflag.wasm"),
});

export const { viewerRequest, viewerResponse, originRequest, originResponse, handler } = handlers;
