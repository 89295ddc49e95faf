// The native-versus-wasm differential through the JS client in Node: the
// generated configs and contexts of wasm/internal/diffgen (make js-test
// writes the fixture), every result byte for byte what the native engine
// prints, on every module (Go, TinyGo, Go with ES256).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { openBundle } from "../index.mjs";
import { runCorpus } from "./lib/conformance.mjs";
import { diffDir, modulePath, tinyModulePath, es256ModulePath, fileURL } from "./lib/paths.mjs";

const read = async (p) => new Uint8Array(await readFile(path.join(diffDir, p)));
const manifestText = await readFile(path.join(diffDir, "sealed", "manifest.json"), "utf8").catch((e) => {
  throw new Error(`${diffDir}: ${e.message}; make js-test writes it (go run ./wasm/internal/diffgen/cmd/difffixture -o ${diffDir})`);
});
const manifest = JSON.parse(manifestText);
const cases = manifest.suites.reduce((n, s) => n + s.cases, 0);

for (const [name, mod] of [["edgeflag.wasm", modulePath], ["edgeflag.tiny.wasm", tinyModulePath], ["edgeflag-es256.wasm", es256ModulePath]]) {
  test(`differential in Node on ${name}: every generated case as the native engine prints it`, async () => {
    const t0 = performance.now();
    const r = await runCorpus({ read, openBundle, wasm: fileURL(mod), nativeOnly: true });
    assert.deepEqual(r.failures.slice(0, 5), []);
    assert.ok(r.results >= 2000, `the fixture holds ${r.results} results`);
    assert.equal(r.suites, manifest.suites.length);
    assert.equal(r.cases, cases);
    assert.equal(r.identical, cases);
    console.log(`node ${name}: differential of ${r.suites} generated configs, ${r.cases} cases, ${r.results} results, ` +
      `${r.identical} byte-identical to native (${Math.round(performance.now() - t0)} ms)`);
  });
}

test("the differential catches one changed variant in a native line (the run can fail)", async () => {
  const first = manifest.suites[0];
  const lines = new TextDecoder().decode(await read("sealed/" + first.native)).split("\n");
  const at = lines.findIndex((l) => /"variant":"[^"]+"/.test(l));
  assert.ok(at >= 0, "no native line with a variant");
  const tampered = lines.with(at, lines[at].replace(/"variant":"([^"]+)"/, '"variant":"$1x"')).join("\n");
  const one = { ...manifest, suites: [first] };
  const utf8 = new TextEncoder();
  const tamperedRead = async (p) => p === "sealed/manifest.json" ? utf8.encode(JSON.stringify(one))
    : p === "sealed/" + first.native ? utf8.encode(tampered) : read(p);
  const clean = await runCorpus({ read: async (p) => p === "sealed/manifest.json" ? utf8.encode(JSON.stringify(one)) : read(p),
    openBundle, wasm: fileURL(modulePath), nativeOnly: true });
  assert.deepEqual(clean.failures, []);
  const r = await runCorpus({ read: tamperedRead, openBundle, wasm: fileURL(modulePath), nativeOnly: true });
  assert.equal(r.failures.length, 1, r.failures.join("\n"));
  assert.match(r.failures[0], new RegExp(`^${first.suite}: \\S+: printed .*, the native engine .*x"`));
  assert.equal(r.identical, first.cases - 1);
});
