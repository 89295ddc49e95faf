// The fetch-style worker in Cloudflare's runtime: npm workerd (its
// binary), the worker bundled into one module by esbuild, the wasm module
// loaded by workerd as a precompiled WebAssembly.Module (`wasm = embed`),
// an origin worker behind a service binding that echoes what it got.
// workerd listens on 127.0.0.1 and is stopped after the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile, copyFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import { MODULE, shop, tempDir, shopConfig, docBlock } from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKERD = path.join(here, "..", "node_modules", ".bin", "workerd");

/** bundleWorker writes the worker as one module with docs/edge.md's command. */
async function bundleWorker(outDir) {
  const cmd = await docBlock("example", "bundle-worker.sh");
  await promisify(execFile)("sh", ["-ec", cmd], { cwd: path.join(here, ".."), env: { ...process.env, OUT: outDir } });
}

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  }).on("error", reject);
});

const ORIGIN = `export default {
  async fetch(request) {
    const seen = {};
    for (const [k, v] of request.headers) seen[k] = v;
    return new Response(JSON.stringify({ url: request.url, headers: seen }), {
      headers: { "content-type": "application/json", "set-cookie": "theme=light" } });
  },
};
`;

async function startWorkerd(t, dir, port) {
  const capnp = (await docBlock("example", "worker.capnp")).replace('address = "127.0.0.1:8787"', `address = "127.0.0.1:${port}"`);
  assert.match(capnp, new RegExp(`127\\.0\\.0\\.1:${port}`));
  await writeFile(path.join(dir, "config.capnp"), capnp);
  const proc = spawn(WORKERD, ["serve", path.join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (b) => (log += b));
  proc.stderr.on("data", (b) => (log += b));
  const exited = new Promise((r) => proc.on("exit", (code) => r(code)));
  t.after(async () => {
    proc.kill("SIGTERM");
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`workerd exited (${proc.exitCode}):\n${log}`);
    try {
      await fetch(base + "/static/ping");
      return { base, log: () => log };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`workerd did not listen on ${base}:\n${log}`);
}

test("the worker in workerd: the route's flags reach the origin, the cookie is set once, spoofed headers are dropped", async (t) => {
  const dir = await tempDir(t);
  const s = await shop(dir, { versions: [1], ttl: "8760h", issued: { 1: -24 } }); // valid now: workerd's clock is the real one
  await bundleWorker(dir);
  await writeFile(path.join(dir, "origin.mjs"), ORIGIN);
  await writeFile(path.join(dir, "config.json"), JSON.stringify(shopConfig()));
  await writeFile(path.join(dir, "jwks.json"), JSON.stringify(s.jwks));
  await copyFile(s.paths[1], path.join(dir, "bundle.jws"));
  await copyFile(MODULE, path.join(dir, "edgeflag.wasm"));
  const w = await startWorkerd(t, dir, await freePort());

  const first = await fetch(w.base + "/checkout/pay", { headers: { "x-edgeflag-flags": "spoofed", "accept-language": "fr" } });
  assert.equal(first.status, 200, w.log());
  const got = await first.json();
  const unit = got.headers["x-edgeflag-unit"];
  assert.match(unit, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(got.headers["x-edgeflag-status"], "ok", w.log());
  assert.equal(got.headers["x-edgeflag-version"], "1");
  const flags = JSON.parse(got.headers["x-edgeflag-flags"]);
  assert.deepEqual(Object.keys(flags), ["new-checkout", "checkout-button-color"]);
  assert.equal(got.headers["x-edgeflag-variant-key"], `${flags["new-checkout"].variant},${flags["checkout-button-color"].variant}`);
  const cookies = first.headers.getSetCookie();
  assert.deepEqual(cookies, ["theme=light", `ef_uid=${unit}; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax`]);

  // The browser sends the cookie back: same unit, same variants, no new cookie.
  const again = await fetch(w.base + "/checkout/pay", { headers: { cookie: `ef_uid=${unit}` } });
  const got2 = await again.json();
  assert.equal(got2.headers["x-edgeflag-unit"], unit);
  assert.equal(got2.headers["x-edgeflag-variant-key"], got.headers["x-edgeflag-variant-key"]);
  assert.deepEqual(again.headers.getSetCookie(), ["theme=light"]);

  // A malformed cookie is replaced; a path without flags is passed through untouched.
  const bad = await fetch(w.base + "/", { headers: { cookie: "ef_uid=<x>" } });
  const got3 = await bad.json();
  assert.notEqual(got3.headers["x-edgeflag-unit"], "<x>");
  assert.equal(JSON.parse(got3.headers["x-edgeflag-flags"])["homepage-banner"].variant !== undefined, true);
  assert.ok(bad.headers.getSetCookie().some((c) => c.startsWith(`ef_uid=${got3.headers["x-edgeflag-unit"]};`)));
  const plain = await (await fetch(w.base + "/static/app.js", { headers: { "x-edgeflag-unit": "spoof" } })).json();
  assert.deepEqual(Object.keys(plain.headers).filter((k) => k.startsWith("x-edgeflag-")), []);

  // Many requests through the one isolate: all evaluated, the instance never trapped.
  const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    fetch(w.base + "/checkout/x", { headers: { cookie: `ef_uid=unit${i}` } }).then((r) => r.json()).then((j) => j.headers["x-edgeflag-status"])));
  assert.deepEqual([...new Set(statuses)], ["ok"]);
});
