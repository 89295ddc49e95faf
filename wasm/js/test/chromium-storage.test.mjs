// Persistence in the browser: the last verified bundle and the highest
// version in localStorage and in IndexedDB; a reload while edgefn is
// unreachable uses the stored bundle after verifying it again; a stored
// bundle edited in the page's storage is refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { startServer } from "./lib/server.mjs";
import { launch } from "./lib/browser.mjs";
import { tempDir, keys, build } from "./lib/fixtures.mjs";
import { modulePath } from "./lib/paths.mjs";

let server, browser, online = true, bundle, etag;
before(async () => {
  const dir = await tempDir();
  const k = await keys(dir);
  bundle = (await build(dir, k.key, { version: 6 })).client;
  etag = `"${createHash("sha256").update(bundle).digest("hex")}"`;
  await writeFile(path.join(dir, "jwks.json"), JSON.stringify(k.jwks));
  server = await startServer({
    files: { "/module/edgeflag.wasm": modulePath, "/fixture/jwks.json": path.join(dir, "jwks.json"),
      "/storage.html": new URL("./pages/storage.html", import.meta.url).pathname },
    routes: { "/v1/bootstrap": (req, res) => {
      if (!online) return res.writeHead(503, { "content-type": "application/json" }).end('{"error":"down","message":"offline"}');
      if (req.headers.authorization !== "Bearer tok") return res.writeHead(401).end();
      if (req.headers["if-none-match"] === etag) return res.writeHead(304, { etag }).end();
      res.writeHead(200, { "content-type": "application/jose", etag }).end(Buffer.from(bundle));
    } },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function visit(page, kind) {
  await page.goto(`${server.url}/storage.html?kind=${kind}`);
  return page.waitForFunction(() => window.__result, null, { timeout: 30000 }).then((h) => h.jsonValue());
}

for (const kind of ["local", "idb"]) {
  test(`${kind === "idb" ? "IndexedDB" : "localStorage"}: stored, then used offline after re-verification, refused when edited`, async () => {
    const errors = [];
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    online = true;
    const first = await visit(page, kind);
    assert.deepEqual({ source: first.source, version: first.version, banner: first.banner }, { source: "network", version: 6, banner: "Spring sale" });
    assert.equal(first.local > 0, kind === "local", "localStorage holds the bundle only when it is the storage");
    online = false;
    const offline = await visit(page, kind);
    assert.deepEqual({ source: offline.source, version: offline.version, banner: offline.banner }, { source: "storage", version: 6, banner: "Spring sale" });
    assert.ok(offline.errors.includes("ErrHTTP"), "the failed fetch is reported");
    // Edit the stored bundle's signature in the page's own storage.
    await page.evaluate(async (kind) => {
      const key = "edgeflag.webshop.production.client.bundle";
      const edit = (s) => {
        const r = JSON.parse(s);
        const i = r.bundle.length - 5;
        r.bundle = r.bundle.slice(0, i) + (r.bundle[i] === "A" ? "B" : "A") + r.bundle.slice(i + 1);
        return JSON.stringify(r);
      };
      if (kind === "local") return localStorage.setItem(key, edit(localStorage.getItem(key)));
      const { indexedDBStorage } = await import("/wasm/js/index.mjs");
      const s = indexedDBStorage();
      await s.set(key, edit(await s.get(key)));
    }, kind);
    const edited = await visit(page, kind);
    assert.equal(edited.source, "none");
    assert.ok(edited.errors.includes("ErrSignature") && edited.errors.includes("ready:ErrHTTP"), edited.errors.join(","));
    assert.deepEqual(errors, []);
    await context.close();
  });
}
