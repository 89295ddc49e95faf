// Route patterns: the shared vectors (testdata/patterns.json, also read by
// the packager's Go test) and the handlers' own check of config.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { compilePattern, patternError, Router } from "../src/routes.mjs";
import { checkConfig } from "../src/config.mjs";
import { shopConfig } from "./lib.mjs";

const vectors = JSON.parse(await readFile(new URL("../testdata/patterns.json", import.meta.url), "utf8"));

test("pattern vectors: validity as the packager judges it, and matches", () => {
  for (const p of vectors.invalid) assert.notEqual(patternError(p), "", `${JSON.stringify(p)} must be invalid`);
  for (const c of vectors.cases) {
    assert.equal(patternError(c.pattern), "", c.pattern);
    const m = compilePattern(c.pattern);
    for (const p of c.match) assert.equal(m(p), true, `${c.pattern} matches ${p}`);
    for (const p of c.miss) assert.equal(m(p), false, `${c.pattern} does not match ${p.slice(0, 40)}`);
  }
});

test("the first matching route wins", () => {
  const r = new Router([{ pattern: "/static/**", flags: [] }, { pattern: "/**", flags: ["a"] }]);
  assert.deepEqual(r.match("/static/x.css").flags, []);
  assert.deepEqual(r.match("/page").flags, ["a"]);
  assert.equal(new Router([{ pattern: "/a", flags: [] }]).match("/b"), null);
});

test("a hostile path costs at most pattern × path steps", () => {
  const m = compilePattern("/*a*a*a*a*a*a*a*b/**/*a*a*c");
  const path = "/" + "a".repeat(8000) + "/" + "a".repeat(100);
  const t0 = performance.now();
  assert.equal(m(path), false);
  assert.ok(performance.now() - t0 < 2000);
});

test("config.json is checked strictly, naming the member", () => {
  assert.doesNotThrow(() => checkConfig(shopConfig()));
  const cases = [
    [{ extra: 1 }, /\$: unknown member "extra"/],
    [{ format: 2 }, /format: want 1/],
    [{ routes: [{ pattern: "/", flags: ["new-checkout", "new-checkout"] }] }, /listed twice/],
    [{ routes: [{ pattern: "/", flags: ["nope"] }] }, /no default for nope/],
    [{ defaults: { ...shopConfig().defaults, extra: 1 } }, /defaults.extra: no route evaluates this flag/],
    [{ cookie: { maxAgeSeconds: 400 * 86400 + 1 } }, /cookie.maxAgeSeconds/],
    [{ context: { targetingKey: { header: "x" } } }, /not targetingKey/],
    [{ refresh: { url: "http://example.com/b" } }, /refresh.url: want https/],
    [{ flagsHeaderMaxBytes: 100000 }, /flagsHeaderMaxBytes/],
  ];
  for (const [over, re] of cases) assert.throws(() => checkConfig(shopConfig(over)), re, JSON.stringify(over));
});
