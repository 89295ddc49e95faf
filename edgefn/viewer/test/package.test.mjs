// The package make edge writes, as Lambda would run it: built by the real
// edgeflag-edge (bin/, make edge-test builds it), unzipped, its index.mjs
// imported and called with CloudFront event fixtures. A viewer package
// over 1 MB is refused and not written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { writeFile, stat, access } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root, shop, tempDir, unzip, viewerRequest, responseFor, header } from "./lib.mjs";

const run = promisify(execFile);
const EDGE = process.env.EDGEFLAG_EDGE_BIN ?? path.join(root, "bin", "edgeflag-edge");
const TINY = path.join(root, "wasm", "dist", "edgeflag.tiny.wasm");
const exists = (p) => access(p).then(() => true, () => false);

const config = (kind, module) => `project: shop
environment: production
bundle: bundle.jws
jwks: jwks.json
function: ${kind}
module: ${module}
routes:
  - pattern: /checkout/**
    flags: [new-checkout, checkout-button-color]
defaults:
  new-checkout: false
  checkout-button-color: "#1a73e8"
`;

async function packageFor(t, kind, module) {
  const dir = await tempDir(t);
  const s = await shop(dir, { versions: [1], ttl: "8760h", issued: { 1: -24 } });
  await writeFile(path.join(dir, "bundle.jws"), s.bundles[1]);
  await writeFile(path.join(dir, "jwks.json"), JSON.stringify(s.jwks));
  await writeFile(path.join(dir, "edge.yaml"), config(kind, module));
  const out = path.join(dir, "edge.zip");
  let result;
  try {
    result = { ...(await run(EDGE, ["--config", path.join(dir, "edge.yaml"), "--out", out, "--root", root, "--now", new Date().toISOString().slice(0, 19) + "Z"])), code: 0 };
  } catch (e) {
    result = { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
  return { dir, out, ...result };
}

async function runPackage(t, zip, dir) {
  const unpacked = path.join(dir, "unpacked");
  const names = await unzip(zip, unpacked);
  assert.ok(names.includes("index.mjs"), "index.mjs at the root, for the handlers index.viewerRequest / index.viewerResponse");
  assert.ok(!names.some((n) => n.includes("node_modules")), "no node_modules in the package");
  const pkg = await import(pathToFileURL(path.join(unpacked, "index.mjs")).href);
  for (const h of ["viewerRequest", "viewerResponse", "originRequest", "originResponse", "handler"]) assert.equal(typeof pkg[h], "function", h);
  const req = await pkg.viewerRequest(await viewerRequest("/checkout/pay"));
  assert.equal(header(req.headers, "x-edgeflag-status"), "ok");
  assert.equal(header(req.headers, "x-edgeflag-version"), "1");
  const unit = header(req.headers, "x-edgeflag-unit");
  const res = await pkg.viewerResponse(await responseFor(req));
  assert.ok(res.headers["set-cookie"].some((c) => c.value.startsWith(`ef_uid=${unit};`)));
}

test("an origin package (standard-Go module) runs as Lambda would run it", async (t) => {
  const p = await packageFor(t, "origin", "standard");
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /of the 50 MB origin-function limit: fits/);
  await runPackage(t, p.out, p.dir);
});

test("a viewer package with the standard-Go module is over 1 MB: refused, not written", async (t) => {
  const p = await packageFor(t, "viewer", "standard");
  assert.equal(p.code, 1, p.stdout + p.stderr);
  assert.match(p.stdout, /of the 1 MB viewer-function limit: TOO LARGE/);
  assert.match(p.stdout, /NOT WRITTEN/);
  assert.match(p.stderr, /over the Lambda@Edge limit for viewer functions/);
  await assert.rejects(stat(p.out), { code: "ENOENT" });
});

test("a viewer package with the TinyGo module fits in 1 MB and runs", { skip: !(await exists(TINY)) && "wasm/dist/edgeflag.tiny.wasm is not built (make wasm-tiny)" }, async (t) => {
  const p = await packageFor(t, "viewer", "tiny");
  assert.equal(p.code, 0, p.stderr);
  assert.ok((await stat(p.out)).size <= 1 << 20);
  await runPackage(t, p.out, p.dir);
});
