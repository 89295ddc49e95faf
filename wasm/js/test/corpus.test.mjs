// The golden corpus and the envelope vectors through the JS client in Node:
// every case identical to its expectation and, byte for byte, to what the
// native engine prints; every vector accepted or refused as expected, on
// every module (Go, TinyGo, Go with ES256).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { openBundle } from "../index.mjs";
import { runCorpus, runEnvelope, canonical } from "./lib/conformance.mjs";
import { corpusDir, modulePath, tinyModulePath, es256ModulePath, fileURL } from "./lib/paths.mjs";

const read = async (p) => new Uint8Array(await readFile(path.join(corpusDir, p)));
const manifest = JSON.parse(await readFile(path.join(corpusDir, "sealed", "manifest.json"), "utf8"));
const corpusCases = manifest.suites.reduce((n, s) => n + s.cases, 0);

for (const [name, mod, es256] of [["edgeflag.wasm", modulePath, false], ["edgeflag.tiny.wasm", tinyModulePath, false],
  ["edgeflag-es256.wasm", es256ModulePath, true]]) {
  test(`corpus in Node on ${name}: every case as expected and as the native engine prints it`, async () => {
    const r = await runCorpus({ read, openBundle, wasm: fileURL(mod) });
    assert.deepEqual(r.failures, []);
    assert.ok(corpusCases >= 300, `the corpus has ${corpusCases} cases`);
    assert.equal(r.cases, corpusCases);
    assert.equal(r.identical, corpusCases);
    assert.equal(r.suites, manifest.suites.length);
    console.log(`node ${name}: ${r.suites} suites, ${r.cases} cases, ${r.identical} byte-identical to native`);
  });

  test(`envelope vectors in Node on ${name}`, async () => {
    const r = await runEnvelope({ read, openBundle, wasm: fileURL(mod), supportsES256: es256 });
    const vectors = JSON.parse(new TextDecoder().decode(await read("envelope/vectors.json"))).vectors;
    assert.deepEqual(r.failures, []);
    assert.equal(r.vectors, vectors.length);
    assert.equal(r.accepted + r.rejected, vectors.length);
    assert.ok(r.accepted > 0 && r.rejected > 0);
    console.log(`node ${name}: ${r.vectors} envelope vectors, ${r.accepted} accepted, ${r.rejected} refused as expected`);
  });
}

test("canonical: key order, number forms and -0 do not matter; types do", () => {
  assert.equal(canonical({ b: 1, a: [1.0, -0] }), canonical(JSON.parse('{"a":[1e0,0],"b":1}')));
  assert.notEqual(canonical("1"), canonical(1));
  assert.equal(canonical({ "\u{1F600}": 1, "\uFFFF": 2 }), '{"\uFFFF":2,"\u{1F600}":1}');
});

test("the checker catches a wrong result (the corpus run can fail)", async () => {
  const { check } = await import("./lib/conformance.mjs");
  const c = { expect: { value: "A", variant: "a", reason: "STATIC" } };
  assert.deepEqual(check(c, { key: "f", value: "A", variant: "a", reason: "STATIC", version: 1 }), []);
  assert.equal(check(c, { key: "f", value: "B", variant: "a", reason: "STATIC" }).length, 1);
  assert.equal(check(c, { key: "f", value: "A", variant: "a", reason: "STATIC", ruleId: "r" }).length, 1);
});
