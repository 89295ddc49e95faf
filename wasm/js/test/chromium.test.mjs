// The golden corpus, the envelope vectors and the native-versus-wasm
// differential (the fixture make js-test writes) through the JS client in
// headless Chromium, on every module (Go, TinyGo, Go with ES256), served
// from 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { startServer } from "./lib/server.mjs";
import { launch, newPage, shotsDir } from "./lib/browser.mjs";
import { corpusDir, diffDir, modulePath, tinyModulePath, es256ModulePath } from "./lib/paths.mjs";

const manifest = JSON.parse(await readFile(path.join(corpusDir, "sealed", "manifest.json"), "utf8"));
const corpusCases = manifest.suites.reduce((n, s) => n + s.cases, 0);
const diffManifest = JSON.parse(await readFile(path.join(diffDir, "sealed", "manifest.json"), "utf8"));
const diffCases = diffManifest.suites.reduce((n, s) => n + s.cases, 0);
const vectors = JSON.parse(await readFile(path.join(corpusDir, "envelope", "vectors.json"), "utf8")).vectors.length;

let server, browser;
before(async () => {
  server = await startServer({ files: { "/module/edgeflag.wasm": modulePath, "/module/edgeflag.tiny.wasm": tinyModulePath,
    "/module/edgeflag-es256.wasm": es256ModulePath,
    "/corpus.html": new URL("./pages/corpus.html", import.meta.url).pathname } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("corpus, envelope vectors and differential in headless Chromium on every module", async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(server.url + "/corpus.html");
  const results = await page.waitForFunction(() => window.__results, null, { timeout: 120000 }).then((h) => h.jsonValue());
  await page.screenshot({ path: path.join(shotsDir, "corpus.png") });
  assert.equal(results.error, undefined);
  assert.match(results.userAgent, /Chrome\/\d+/);
  for (const name of ["edgeflag.wasm", "edgeflag.tiny.wasm", "edgeflag-es256.wasm"]) {
    const { corpus, envelope, diff } = results[name];
    assert.deepEqual(corpus.failures, [], name);
    assert.equal(corpus.cases, corpusCases);
    assert.equal(corpus.identical, corpusCases);
    assert.deepEqual(envelope.failures, [], name);
    assert.equal(envelope.vectors, vectors);
    assert.equal(envelope.accepted + envelope.rejected, vectors);
    assert.deepEqual(diff.failures.slice(0, 5), [], name);
    assert.equal(diff.suites, diffManifest.suites.length);
    assert.equal(diff.cases, diffCases);
    assert.equal(diff.identical, diffCases);
    assert.ok(diff.results >= 2000, `the differential holds ${diff.results} results`);
    console.log(`chromium ${name}: ${corpus.cases} cases (${corpus.identical} byte-identical to native), ` +
      `${envelope.vectors} envelope vectors (${envelope.accepted} accepted, ${envelope.rejected} refused as expected), ` +
      `differential ${diff.cases} cases, ${diff.results} results byte-identical to native (${diff.ms} ms)`);
  }
  assert.deepEqual(errors, []);
  console.log(`${results.userAgent.match(/Chrome\/[\d.]+/)[0]}; screenshot ${path.join(shotsDir, "corpus.png")}`);
});
