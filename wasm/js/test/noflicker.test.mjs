// No flicker on a server-rendered page, in headless Chromium: the page is
// rendered by the test server with the SSR helper (the user's signed
// values from the real edgefn, embedded with ssr.bootstrapScript); every
// request the client makes — edgefn's API and the wasm module — is held
// open by the server. The first paint must already show the user's
// variants: the DOM is checked while those requests are pending, and the
// page's render mark must precede its first paint. Then the requests are
// released and the client upgrades to the live, verified bundle with the
// same variants.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { fetchValues, bootstrapScript } from "../ssr.mjs";
import { startServer } from "./lib/server.mjs";
import { launch, newPage, shotsDir } from "./lib/browser.mjs";
import { startEdgefn } from "./lib/edgefn.mjs";
import { createClient, memoryStorage } from "../index.mjs";
import { modulePath, fileURL } from "./lib/paths.mjs";

test("the first paint shows the right variants before any request completes, then the live bundle takes over", async (t) => {
  const e = await startEdgefn(t);
  const user = { targetingKey: "u-42", plan: "pro" };
  const token = await e.mint({ subject: user.targetingKey, attributes: { plan: user.plan } });

  // What the user must see: the engine's own answer for this user.
  const ref = createClient({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "webshop", environment: "production",
    wasm: fileURL(modulePath), storage: memoryStorage(), stream: false, refreshSeconds: 0, context: user, onError: () => {} });
  await ref.ready;
  await ref.close();
  const want = { banner: ref.evaluate("banner").value, checkout: ref.evaluate("new-checkout").variant, color: ref.evaluate("button-color").variant };

  let release;
  const gate = new Promise((r) => { release = r; });
  const held = { received: [], answered: [] };
  const template = await readFile(new URL("./pages/ssr.html", import.meta.url), "utf8");
  const server = await startServer({
    handle: async (req, res, url) => {
      if (url.pathname === "/page") {
        // The server-rendered page: the SSR helper at work.
        const embedded = await fetchValues({ bootstrapUrl: e.bootstrapUrl, token });
        const html = template.replace("<!--BOOTSTRAP-->", bootstrapScript({ token, ...embedded }))
          .replace("/*CONFIG*/", JSON.stringify({ jwks: e.jwks, context: user }));
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
        return true;
      }
      if (!url.pathname.startsWith("/api/") && url.pathname !== "/held/edgeflag.wasm") return false;
      held.received.push(url.pathname);
      await gate;
      if (url.pathname === "/held/edgeflag.wasm") {
        res.writeHead(200, { "content-type": "application/wasm" }).end(await readFile(modulePath));
      } else {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const up = await fetch(e.url + url.pathname.slice(4) + url.search, { method: req.method,
          headers: Object.fromEntries(["authorization", "if-none-match", "accept", "content-type"].filter((h) => req.headers[h]).map((h) => [h, req.headers[h]])),
          body: chunks.length ? Buffer.concat(chunks) : undefined });
        const headers = { "content-type": up.headers.get("content-type") ?? "application/octet-stream" };
        if (up.headers.get("etag")) headers.etag = up.headers.get("etag");
        res.writeHead(up.status, headers);
        if (up.body) for await (const c of up.body) res.write(c);
        res.end();
      }
      held.answered.push(url.pathname);
      return true;
    },
  });
  t.after(() => server.close());
  const browser = await launch();
  t.after(() => browser.close());
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(server.url + "/page", { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => window.__firstRender && window.__paint, null, { timeout: 20000 });

  const first = await page.evaluate(() => ({ ...window.__firstRender, paint: window.__paint, dom: {
    banner: document.getElementById("banner").textContent, checkout: document.getElementById("checkout").dataset.variant,
    color: document.getElementById("buy").dataset.variant, source: document.body.dataset.source } }));
  assert.ok(held.received.length >= 1, "the client asked for its bundle or module");
  assert.deepEqual(held.answered, [], "no request of the client has completed");
  assert.deepEqual(first.dom, { ...want, source: "embedded" });
  assert.ok(first.at <= first.paint, `rendered at ${first.at} ms, first paint at ${first.paint} ms: the first paint shows the variants`);
  const shot1 = path.join(shotsDir, "noflicker-first-paint.png");
  await page.screenshot({ path: shot1 });

  release();
  await page.waitForFunction(() => document.body.dataset.source === "network", null, { timeout: 20000 });
  const live = await page.evaluate(() => ({ banner: document.getElementById("banner").textContent,
    checkout: document.getElementById("checkout").dataset.variant, color: document.getElementById("buy").dataset.variant,
    renders: window.__renders }));
  assert.deepEqual({ banner: live.banner, checkout: live.checkout, color: live.color }, want, "the live bundle shows the same variants");
  assert.ok(held.answered.includes("/held/edgeflag.wasm") && held.answered.includes("/api/v1/bootstrap"));
  const shot2 = path.join(shotsDir, "noflicker-live.png");
  await page.screenshot({ path: shot2 });
  assert.deepEqual(errors, []);
  console.log(`first paint at ${first.paint.toFixed(1)} ms, variants rendered at ${first.at.toFixed(1)} ms from embedded values ` +
    `while ${held.received.length} request(s) were held; screenshots ${shot1} ${shot2}`);
});
