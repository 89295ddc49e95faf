// Shared helpers of the edge tests: bundles of examples/shop made by the
// real CLI (bin/edgeflag, built by make build), the CloudFront event
// fixtures, and a zip reader for the package make edge writes.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const run = promisify(execFile);
export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const EDGEFLAG = process.env.EDGEFLAG_BIN ?? path.join(root, "bin", "edgeflag");
/** The module the handler tests run on (EDGEFLAG_WASM: another one, e.g. the TinyGo build). */
export const MODULE = process.env.EDGEFLAG_WASM ? path.resolve(process.env.EDGEFLAG_WASM) : path.join(root, "wasm", "dist", "edgeflag.wasm");
export const T0 = Date.parse("2026-06-01T00:00:00Z");

export async function edgeflag(...args) {
  const { stdout } = await run(EDGEFLAG, args, { cwd: root });
  return stdout;
}

/** tempDir makes a directory the test removes afterwards. */
export async function tempDir(t) {
  const dir = await mkdtemp(path.join(tmpdir(), "edgeflag-edge-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * shop makes a signing key in dir and builds the client bundle of
 * examples/shop/production for each version, issued at T0 + hours, with
 * ttl; resolves to {jwks, jwksPath, key, bundles: {version: Uint8Array}, paths}.
 */
export async function shop(dir, { versions = [1], ttl = "720h", issued = {} } = {}) {
  const key = path.join(dir, "signing.key");
  await edgeflag("keygen", "--out", key);
  const bundles = {}, paths = {};
  for (const v of versions) {
    const out = path.join(dir, `v${v}`);
    const at = new Date(T0 + (issued[v] ?? 0) * 3600e3).toISOString().replace(".000Z", "Z");
    await edgeflag("build", path.join(root, "examples", "shop"), "--env", "production", "--key", key, "--out", out,
      "--version", String(v), "--now", at, "--ttl", ttl);
    paths[v] = path.join(out, `shop.production.${v}.client.jws`);
    bundles[v] = new Uint8Array(await readFile(paths[v]));
  }
  const jwksPath = key + ".jwks.json";
  return { key, jwksPath, jwks: JSON.parse(await readFile(jwksPath, "utf8")), bundles, paths };
}

/** fixture returns a fresh copy of a CloudFront event from fixtures/. */
export async function fixture(name) {
  return JSON.parse(await readFile(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8"));
}

/** request is a viewer-request event for uri with the given Cookie header values. */
export async function viewerRequest(uri, cookies = [], extra = {}) {
  const ev = await fixture("viewer-request");
  const req = ev.Records[0].cf.request;
  req.uri = uri;
  if (cookies.length) req.headers.cookie = cookies.map((value) => ({ key: "Cookie", value }));
  Object.assign(req.headers, extra);
  return ev;
}

/** responseFor is the viewer-response event for a request the viewer-request handler returned. */
export async function responseFor(req) {
  const ev = await fixture("viewer-response");
  ev.Records[0].cf.request = structuredClone(req);
  return ev;
}

/** header reads the first value of a CloudFront header. */
export const header = (headers, name) => headers?.[name]?.[0]?.value;

/** The example's edge configuration as config.json holds it. */
export const shopConfig = (over = {}) => ({
  format: 1, project: "shop", environment: "production",
  routes: [
    { pattern: "/static/**", flags: [] },
    { pattern: "/checkout/**", flags: ["new-checkout", "checkout-button-color"] },
    { pattern: "/all", flags: ["new-checkout", "checkout-button-color", "homepage-banner", "express-shipping"] },
    { pattern: "/", flags: ["homepage-banner"] },
  ],
  defaults: { "new-checkout": false, "checkout-button-color": "#1a73e8", "homepage-banner": { show: false }, "express-shipping": false },
  context: { language: { header: "accept-language" } },
  ...over,
});

/** unzip extracts a zip (stored or deflated entries) into dir. */
export async function unzip(file, dir) {
  const z = await readFile(file);
  let eocd = z.length - 22;
  while (eocd >= 0 && z.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file}: not a zip`);
  const count = z.readUInt16LE(eocd + 10);
  let p = z.readUInt32LE(eocd + 16);
  const names = [];
  for (let i = 0; i < count; i++) {
    if (z.readUInt32LE(p) !== 0x02014b50) throw new Error("bad central directory");
    const method = z.readUInt16LE(p + 10), csize = z.readUInt32LE(p + 20);
    const nlen = z.readUInt16LE(p + 28), xlen = z.readUInt16LE(p + 30), clen = z.readUInt16LE(p + 32);
    const local = z.readUInt32LE(p + 42);
    const name = z.subarray(p + 46, p + 46 + nlen).toString("utf8");
    p += 46 + nlen + xlen + clen;
    if (name.startsWith("/") || name.split("/").includes("..")) throw new Error(`unsafe entry ${name}`);
    const start = local + 30 + z.readUInt16LE(local + 26) + z.readUInt16LE(local + 28);
    const raw = z.subarray(start, start + csize);
    const data = method === 8 ? zlib.inflateRawSync(raw) : raw;
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), data);
    names.push(name);
  }
  return names;
}

/** docBlock returns the code block after <!-- kind: name --> in docs/edge.md. */
export async function docBlock(kind, name) {
  const doc = await readFile(path.join(root, "docs", "edge.md"), "utf8");
  const m = new RegExp(`<!-- ${kind}: ${name.replace(/\./g, "\\.")} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/edge.md has no <!-- ${kind}: ${name} --> block`);
  return m[1];
}
