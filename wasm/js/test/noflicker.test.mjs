// No flicker on a server-rendered page, in headless Chromium: the SSR
// server of docs/browser.md (ssr-server.mjs, run as written) renders the
// page with the user's signed values from the real edgefn embedded; every
// request the client makes — edgefn's API and the wasm module — goes
// through a proxy that holds it open. The first paint must already show
// the user's variants: the DOM is checked while those requests are
// pending, and the page's render must precede its first paint. Then the
// requests are released and the client upgrades to the live, verified
// bundle with the same variants.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, readFile } from "node:fs/promises";
import path from "node:path";
import { startServer } from "./lib/server.mjs";
import { launch, newPage, shotsDir } from "./lib/browser.mjs";
import { startEdgefn } from "./lib/edgefn.mjs";
import { exampleDir } from "./lib/docs.mjs";
import { until } from "./lib/fakeedgefn.mjs";
import { createClient, memoryStorage } from "../index.mjs";
import { modulePath, fileURL, root } from "./lib/paths.mjs";

const user = { targetingKey: "user-123", plan: "pro", country: "US", accountId: "acct-11", device: { os: "ios" }, appVersion: "4.3.0" };

// Installed before the page's scripts: when the first paint happened, and
// when the variants first reached the DOM.
function observe() {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "first-paint") window.__paint ??= e.startTime;
  }).observe({ type: "paint", buffered: true });
  new MutationObserver(() => {
    if (document.getElementById("checkout")?.textContent) window.__firstRender ??= performance.now();
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

test("the first paint shows the right variants before any request completes, then the live bundle takes over", async (t) => {
  const e = await startEdgefn(t, { flags: path.join(root, "examples", "shop"), project: "shop" });

  // What the user must see: the engine's own answer for this user.
  const { targetingKey, ...attributes } = user;
  const token = await e.mint({ subject: targetingKey, attributes });
  const ref = createClient({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "shop", environment: "production",
    wasm: fileURL(modulePath), storage: memoryStorage(), stream: false, refreshSeconds: 0, context: user, onError: () => {} });
  await ref.ready;
  await ref.close();
  const banner = ref.evaluate("homepage-banner").value;
  const want = { banner: banner.show ? banner.title : "", checkout: ref.evaluate("new-checkout").variant,
    color: ref.evaluate("checkout-button-color").variant };

  // The proxy between the browser and edgefn (and the module), holding every request.
  let release;
  const gate = new Promise((r) => { release = r; });
  const held = { received: [], answered: [] };
  const proxy = await startServer({
    handle: async (req, res, url) => {
      held.received.push(`${req.method} ${url.pathname}`);
      await gate;
      if (url.pathname === "/held/edgeflag.wasm") {
        res.writeHead(200, { "content-type": "application/wasm", "access-control-allow-origin": "*" }).end(await readFile(modulePath));
      } else if (url.pathname.startsWith("/api/")) {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const headers = {};
        for (const [k, v] of Object.entries(req.headers)) if (!["host", "connection", "content-length"].includes(k)) headers[k] = v;
        const up = await fetch(e.url + url.pathname.slice(4) + url.search, { method: req.method, headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined });
        const out = {};
        up.headers.forEach((v, k) => { if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v; });
        res.writeHead(up.status, out);
        if (up.body) for await (const c of up.body) res.write(c);
        res.end();
      } else {
        res.writeHead(404).end();
      }
      held.answered.push(`${req.method} ${url.pathname}`);
      return true;
    },
  });
  t.after(() => proxy.close());

  // The document's SSR server, as written.
  const { dir } = await exampleDir(t);
  await copyFile(e.jwksPath, path.join(dir, "jwks.json"));
  const ssr = spawn(process.execPath, ["ssr-server.mjs"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, EDGEFN_URL: e.url, PUBLIC_EDGEFN_URL: proxy.url + "/api", WASM_URL: proxy.url + "/held/edgeflag.wasm",
      API_KEY: e.apiKey, PORT: "0" } });
  let log = "";
  ssr.stdout.on("data", (d) => { log += d; });
  ssr.stderr.on("data", (d) => { log += d; });
  t.after(() => ssr.kill("SIGTERM"));
  await until(() => /listening on (\S+)/.test(log), 10000, "the SSR server");
  const site = log.match(/listening on (\S+)/)[1];

  const browser = await launch();
  t.after(() => browser.close());
  const errors = [];
  const page = await newPage(browser, errors);
  await page.addInitScript(observe);
  await page.goto(site + "/", { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => window.__firstRender && window.__paint, null, { timeout: 20000 });
  const dom = () => page.evaluate(() => ({ banner: document.getElementById("banner").textContent,
    checkout: document.getElementById("checkout").dataset.variant, color: document.getElementById("pay").dataset.variant,
    source: document.body.dataset.source }));
  const first = await dom();
  const times = await page.evaluate(() => ({ render: window.__firstRender, paint: window.__paint }));
  assert.ok(held.received.length >= 1, "the client asked edgefn or for its module");
  assert.deepEqual(held.answered, [], "no request of the client has completed");
  assert.deepEqual(first, { ...want, source: "embedded" });
  assert.ok(times.render <= times.paint, `rendered at ${times.render} ms, first paint at ${times.paint} ms: the first paint must show the variants`);
  const shot1 = path.join(shotsDir, "noflicker-first-paint.png");
  await page.screenshot({ path: shot1 });

  release();
  await page.waitForFunction(() => document.body.dataset.source === "network", null, { timeout: 20000 });
  const live = await dom();
  assert.deepEqual(live, { ...want, source: "network" }, "the live bundle shows the same variants");
  assert.ok(held.answered.includes("GET /held/edgeflag.wasm") && held.answered.includes("GET /api/v1/bootstrap"), held.answered.join(", "));
  const shot2 = path.join(shotsDir, "noflicker-live.png");
  await page.screenshot({ path: shot2 });
  assert.deepEqual(errors, []);
  console.log(`first paint at ${times.paint.toFixed(1)} ms; the variants were in the DOM at ${times.render.toFixed(1)} ms, from the embedded ` +
    `values, while ${held.received.length} request(s) were held (${[...new Set(held.received)].join(", ")}); screenshots ${shot1} ${shot2}`);
});
