// Exposures and track(event) batched to POST /v1/track (the contract of
// docs/api.md) against the fake edgefn: batches, retry with the same ids,
// Retry-After, a bounded queue, refusals that are not retried.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient, memoryStorage } from "../index.mjs";
import { EventQueue } from "../track.mjs";
import { fakeEdgefn, until } from "./lib/fakeedgefn.mjs";
import { tempDir, keys, build } from "./lib/fixtures.mjs";
import { modulePath, fileURL } from "./lib/paths.mjs";

const day2 = Date.parse("2026-06-02T00:00:00Z");

async function ready(t, track = {}) {
  const dir = await tempDir(t);
  const k = await keys(dir);
  const f = await fakeEdgefn({ stream: false });
  t.after(() => f.close());
  f.publish((await build(dir, k.key, { version: 1 })).client, 1);
  const errors = [];
  const c = createClient({ bootstrapUrl: f.bootstrapUrl, token: f.token, jwks: k.jwks, project: "webshop", environment: "production",
    wasm: fileURL(modulePath), clock: () => day2, storage: memoryStorage(), refreshSeconds: 0, onError: (e) => errors.push(e),
    context: { targetingKey: "u-7" }, track });
  t.after(() => c.close());
  await c.ready;
  return { c, f, errors };
}

const trackRequests = (f) => f.requests.filter((r) => r.path === "/v1/track");

test("exposures once per flag and variant (splits only by default), conversions, in batches", async (t) => {
  const { c, f } = await ready(t, { maxBatch: 2, flushSeconds: 0.05 });
  const r = c.evaluate("button-color");
  assert.equal(r.reason, "SPLIT");
  c.evaluate("button-color");
  c.evaluate("new-checkout"); // not a split: no exposure
  const missing = c.evaluate("button-color", {}); // no targeting key: the default variant, not a split
  assert.equal(missing.errorCode, "TARGETING_KEY_MISSING");
  assert.notEqual(missing.reason, "SPLIT");
  const id = c.track("purchase", { value: 42.5, attributes: { plan: "pro" } });
  c.track("clicked", { type: "custom" });
  await until(() => f.events.length === 3, 5000, "3 events");
  await c.flush();
  const byType = { exposure: f.events.filter((e) => e.type === "exposure") };
  assert.equal(byType.exposure.length, 1);
  assert.equal(byType.exposure[0].variant, r.variant);
  assert.equal(byType.exposure[0].flagKey, "button-color");
  assert.equal(byType.exposure[0].unit, undefined, "with a client token the unit is the token's subject");
  const purchase = f.events.find((e) => e.name === "purchase");
  assert.equal(purchase.id, id);
  assert.deepEqual({ ...purchase, id: 0, timestamp: 0 }, { id: 0, type: "conversion", name: "purchase", timestamp: 0, value: 42.5, attributes: { plan: "pro" } });
  assert.equal(purchase.timestamp, "2026-06-02T00:00:00.000Z");
  assert.ok(trackRequests(f).every((q) => q.body.events.length <= 2 && q.auth === `Bearer ${f.token}`));
  assert.ok(trackRequests(f).length >= 2);
});

test("a 503 with Retry-After and a network failure are retried with the same event ids", async (t) => {
  const { c, f, errors } = await ready(t, { flushSeconds: 0.01 });
  f.trackReplies.push({ status: 503, headers: { "retry-after": "0" }, body: '{"error":"busy","message":"full"}' });
  f.trackReplies.push({ status: 500 });
  const id = c.track("purchase");
  await until(() => c.events.stats.accepted === 1, 10000, "the retried event");
  const sent = trackRequests(f).map((q) => q.body.events[0].id);
  assert.deepEqual(sent, [id, id, id]);
  assert.ok(errors.some((e) => e.status === 503) && errors.some((e) => e.status === 500));
  assert.equal(c.events.stats.accepted, 1);
});

test("rejected events are reported, not retried; a refused request is dropped; 501 turns tracking off", async (t) => {
  const { c, f, errors } = await ready(t, { flushSeconds: 60 });
  c.track("ok");
  c.track("bad", { type: "click" });
  await c.flush();
  assert.equal(f.events.length, 1);
  assert.equal(c.events.stats.rejected, 1);
  assert.match(errors.at(-1).message, /rejected: type/);
  f.trackReplies.push({ status: 400, body: '{"error":"invalid_json","message":"x"}' });
  c.track("lost");
  await c.flush();
  assert.equal(c.events.queue.length, 0);
  assert.equal(c.events.stats.dropped, 1);
  f.trackReplies.push({ status: 501, body: '{"error":"not_implemented","message":"off"}' });
  c.track("x");
  await c.flush();
  c.track("y");
  await c.flush();
  assert.equal(c.events.disabled, true);
  assert.equal(trackRequests(f).length, 3, "nothing is sent once edgefn said tracking is off");
});

test("the queue is bounded: while edgefn is down the oldest events go", async () => {
  const sent = [];
  const q = new EventQueue({ maxBatch: 2, maxQueue: 3, flushSeconds: 3600, onError: () => {},
    send: async (body) => { sent.push(JSON.parse(body)); return new Response("busy", { status: 503, headers: { "retry-after": "3600" } }); } });
  for (let i = 0; i < 5; i++) q.push({ id: `e${i}` });
  await q.flush();
  assert.deepEqual(q.queue.map((e) => e.id), ["e2", "e3", "e4"]);
  assert.equal(q.stats.dropped, 2);
  assert.equal(q.failures >= 1, true);
  q.closed = true;
  clearTimeout(q.timer);
});

test("on close the queue is flushed", async (t) => {
  const { c, f } = await ready(t, { flushSeconds: 3600 });
  c.track("last");
  await c.close();
  assert.deepEqual(f.events.map((e) => e.name), ["last"]);
});
