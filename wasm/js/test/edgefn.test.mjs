// The client against the real edgefn serve: bundle mode with the change
// stream and a new publish, values mode verified against /v1/keys (and
// equal to local evaluation of the same subject), the SSR helper, and
// events accepted by the real POST /v1/track.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { createClient, memoryStorage, parseValues } from "../index.mjs";
import { fetchValues, bootstrapScript } from "../ssr.mjs";
import { startEdgefn } from "./lib/edgefn.mjs";
import { until } from "./lib/fakeedgefn.mjs";
import { modulePath, fileURL } from "./lib/paths.mjs";

const wasm = fileURL(modulePath);

test("bundle mode against edgefn serve: verify, evaluate, follow the stream to a new publish, track", async (t) => {
  const e = await startEdgefn(t);
  const token = await e.mint({ subject: "u-1", attributes: { plan: "pro" } });
  const errors = [];
  const c = createClient({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "webshop", environment: "production", wasm,
    storage: memoryStorage(), context: { targetingKey: "u-1", plan: "pro" }, onError: (x) => errors.push(x), track: { flushSeconds: 0.05 } });
  t.after(() => c.close());
  await c.ready;
  assert.equal(c.version, 1);
  assert.equal(c.evaluate("new-checkout").variant, "on");
  assert.equal(c.evaluate("banner").value, "Spring sale");
  await until(() => c.streaming, 5000, "the stream");
  await e.publish(2);
  await until(() => c.version === 2, 10000, "version 2 through the stream");
  assert.equal(c.evaluate("banner").value, "Summer sale");
  assert.equal(c.stats.refused, 0);

  const split = c.evaluate("button-color");
  assert.equal(split.reason, "SPLIT");
  c.track("purchase", { value: 12.5 });
  await until(() => c.events.stats.accepted === 2, 10000, "2 events accepted by edgefn");
  assert.equal(c.events.stats.rejected, 0);
  assert.deepEqual(errors.filter((x) => x.code !== "ErrFetch"), []);
  await c.close();
  const { code } = await e.stop();
  assert.equal(code, 0, e.log);
  const eventsDir = path.join(e.store, "webshop", "production", "events");
  const files = (await readdir(eventsDir, { recursive: true })).filter((f) => f.endsWith(".ndjson.zst"));
  assert.ok(files.length >= 1, "edgefn wrote the events to the store");
});

test("values mode against edgefn serve: verified with the pinned /v1/keys, equal to evaluating the bundle for the subject", async (t) => {
  const e = await startEdgefn(t);
  const token = await e.mint({ subject: "u-2", attributes: { plan: "pro" } });
  const valuesJwks = await e.keysJWKS(token);
  const v = createClient({ mode: "values", bootstrapUrl: e.bootstrapUrl, token, valuesJwks, project: "webshop", environment: "production",
    storage: memoryStorage(), refreshSeconds: 0, stream: false, onError: () => {} });
  const b = createClient({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "webshop", environment: "production", wasm,
    storage: memoryStorage(), refreshSeconds: 0, stream: false, context: { targetingKey: "u-2", plan: "pro" }, onError: () => {} });
  t.after(() => Promise.all([v.close(), b.close()]));
  await Promise.all([v.ready, b.ready]);
  assert.equal(v.values.subject, "u-2", "the subject comes from the token");
  const local = b.evaluateAll();
  assert.deepEqual(v.evaluateAll(), local);
  assert.equal(await v.refresh(), false, "304 while nothing changed");

  // The SSR helper fetches the same document for the page.
  const ssr = await fetchValues({ bootstrapUrl: e.bootstrapUrl, token });
  assert.equal(parseValues(ssr.values).version, 1);
  assert.match(bootstrapScript({ token, ...ssr }), /^<script type="application\/json" id="edgeflag-bootstrap">\{"token":/);
});
