// docs/edge.md's examples, run as written: the edge configuration is
// built by edgeflag-edge (a viewer package: refused while only the
// standard-Go module exists, else it must fit), then as an origin package
// whose index.mjs answers the page's request with exactly the headers
// the page shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFile, writeFile, access, mkdir, copyFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root, shop, tempDir, unzip, viewerRequest, docBlock } from "./lib.mjs";

const run = promisify(execFile);
const EDGE = process.env.EDGEFLAG_EDGE_BIN ?? path.join(root, "bin", "edgeflag-edge");
const doc = await readFile(path.join(root, "docs", "edge.md"), "utf8");

const block = docBlock;

async function edge(args) {
  try {
    return { ...(await run(EDGE, args)), code: 0 };
  } catch (e) {
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

test("docs/edge.md: the configuration builds, and the request reaches the origin with the headers shown", async (t) => {
  const dir = await tempDir(t);
  const s = await shop(dir, { versions: [1], ttl: "8760h", issued: { 1: -24 } });
  await mkdir(path.join(dir, "bundles"));
  await copyFile(s.paths[1], path.join(dir, "bundles", "shop.production.1.client.jws"));
  await copyFile(s.jwksPath, path.join(dir, "signing.key.jwks.json"));
  const yaml = await block("example", "edge.yaml");
  await writeFile(path.join(dir, "edge.yaml"), yaml);
  const now = ["--now", new Date().toISOString().slice(0, 19) + "Z", "--root", root];
  const tiny = await access(path.join(root, "wasm", "dist", "edgeflag.tiny.wasm")).then(() => true, () => false);
  const viewer = await edge(["--config", path.join(dir, "edge.yaml"), "--out", path.join(dir, "viewer.zip"), ...now]);
  if (tiny) {
    assert.equal(viewer.code, 0, viewer.stderr);
    assert.match(viewer.stdout, /1 MB viewer-function limit: fits/);
  } else {
    assert.equal(viewer.code, 1, viewer.stdout + viewer.stderr);
    assert.match(viewer.stdout, /NOT WRITTEN: viewer functions take at most 1048576 bytes; AWS would reject this package/);
  }
  await writeFile(path.join(dir, "origin.yaml"), yaml + "function: origin\nmodule: standard\n");
  const origin = await edge(["--config", path.join(dir, "origin.yaml"), "--out", path.join(dir, "origin.zip"), ...now]);
  assert.equal(origin.code, 0, origin.stderr);
  await unzip(path.join(dir, "origin.zip"), path.join(dir, "pkg"));
  const pkg = await import(pathToFileURL(path.join(dir, "pkg", "index.mjs")).href);

  const lines = (await block("example", "request")).trim().split("\n");
  const [method, uri] = lines[0].split(" ");
  const ev = await viewerRequest(uri);
  const req = ev.Records[0].cf.request;
  req.method = method;
  req.headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(": ");
    req.headers[l.slice(0, i).toLowerCase()] = [{ key: l.slice(0, i), value: l.slice(i + 2) }];
  }
  const out = await pkg.viewerRequest(ev);
  const got = Object.values(out.headers).flat().filter((h) => h.key.startsWith("X-Edgeflag-")).map((h) => `${h.key}: ${h.value}`);
  assert.deepEqual(got, (await block("output", "request")).trim().split("\n"));
});

test("docs/edge.md: a flag outside the client bundle is reported at its place", async (t) => {
  const dir = await tempDir(t);
  const s = await shop(dir, { versions: [1], ttl: "8760h", issued: { 1: -24 } });
  const msg = /edge\.yaml:8:27: routes\[0\]\.flags\[1\]: payment-retry-limit is not in the client bundle of version 1 \(a client-side flag of shop\/production\?\)/;
  assert.match(doc, new RegExp(msg.source.replace(/\\\//g, "/")));
  const yaml = `project: shop\nenvironment: production\nbundle: ${s.paths[1]}\njwks: ${s.jwksPath}\nfunction: origin\nroutes:\n  - pattern: /checkout/**\n    flags: [new-checkout, payment-retry-limit]\ndefaults:\n  new-checkout: false\n  payment-retry-limit: 2\n`;
  await writeFile(path.join(dir, "edge.yaml"), yaml);
  const r = await edge(["--config", path.join(dir, "edge.yaml"), "--out", path.join(dir, "x.zip"), "--root", root, "--now", new Date().toISOString().slice(0, 19) + "Z"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, msg);
});
