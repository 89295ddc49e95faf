// The OpenFeature providers under the official SDKs (pinned in
// package.json), against the real edgefn serve.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenFeature as ServerOF, ProviderEvents as ServerEvents } from "@openfeature/server-sdk";
import { OpenFeature as WebOF, ProviderEvents as WebEvents } from "@openfeature/web-sdk";
import { EdgeflagServerProvider } from "../openfeature/server.mjs";
import { EdgeflagWebProvider } from "../openfeature/web.mjs";
import { createClient, memoryStorage } from "../index.mjs";
import { fetchValues } from "../ssr.mjs";
import { startEdgefn } from "./lib/edgefn.mjs";
import { until } from "./lib/fakeedgefn.mjs";
import { modulePath, fileURL } from "./lib/paths.mjs";

const wasm = fileURL(modulePath);

test("server provider: dynamic context, the server bundle, errors as defaults, config change, tracking", async (t) => {
  const e = await startEdgefn(t);
  const provider = new EdgeflagServerProvider({ bootstrapUrl: e.url + "/v1/flags", apiKey: e.apiKey, jwks: e.jwks, project: "webshop",
    environment: "production", wasm, storage: memoryStorage(), onError: () => {}, track: { flushSeconds: 0.05 } });
  t.after(() => ServerOF.close());
  await ServerOF.setProviderAndWait(provider);
  const of = ServerOF.getClient();
  const pro = await of.getBooleanDetails("new-checkout", false, { targetingKey: "u-1", plan: "pro" });
  assert.deepEqual({ ...pro, flagMetadata: { ...pro.flagMetadata } },
    { flagKey: "new-checkout", value: true, variant: "on", reason: "TARGETING_MATCH", flagMetadata: { version: 1, ruleId: "pro" } });
  assert.equal(await of.getBooleanValue("new-checkout", true, { targetingKey: "u-1", plan: "free" }), false);
  assert.equal(await of.getNumberValue("server-only", 0, { targetingKey: "u-1" }), 1, "the server bundle holds server-only flags");
  const missing = await of.getStringDetails("no-such-flag", "dflt", {});
  assert.equal(missing.value, "dflt");
  assert.equal(missing.errorCode, "FLAG_NOT_FOUND");
  const mismatch = await of.getNumberDetails("banner", 3, {});
  assert.equal(mismatch.value, 3);
  assert.equal(mismatch.errorCode, "TYPE_MISMATCH");
  const nokey = await of.getStringDetails("button-color", "x", {});
  assert.equal(nokey.value, "grey");
  assert.equal(nokey.flagMetadata.errorCode, "TARGETING_KEY_MISSING");

  of.track("purchase", { targetingKey: "u-1" }, { value: 9.5, plan: "pro" });
  await until(() => provider.client.events.stats.accepted === 1, 10000, "the tracked event");
  assert.equal(provider.client.events.stats.rejected, 0);

  let changed = null;
  ServerOF.addHandler(ServerEvents.ConfigurationChanged, (d) => { changed = d; });
  await e.publish(2);
  await until(() => changed !== null, 10000, "PROVIDER_CONFIGURATION_CHANGED");
  assert.equal(changed.metadata.version, 2);
  assert.equal(await of.getStringValue("banner", "", {}), "Summer sale");
});

test("web provider: static context, synchronous evaluation, config change, tracking; ready at once on embedded values", async (t) => {
  const e = await startEdgefn(t);
  const token = await e.mint({ subject: "u-3", attributes: { plan: "pro" } });
  await WebOF.setContext({ targetingKey: "u-3", plan: "pro" });
  const provider = new EdgeflagWebProvider({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "webshop", environment: "production",
    wasm, storage: memoryStorage(), onError: () => {}, track: { flushSeconds: 0.05 } });
  t.after(() => WebOF.close());
  await WebOF.setProviderAndWait(provider);
  const of = WebOF.getClient();
  assert.equal(of.getBooleanValue("new-checkout", false), true);
  assert.equal(of.getBooleanDetails("new-checkout", false).variant, "on");
  assert.equal(of.getNumberDetails("server-only", 5).errorCode, "FLAG_NOT_FOUND", "a client bundle has client-side flags only");
  of.track("signup", { value: 1 });
  await until(() => provider.client.events.stats.accepted === 1, 10000, "the tracked event");
  let changed = null;
  WebOF.addHandler(WebEvents.ConfigurationChanged, (d) => { changed = d; });
  await e.publish(2);
  await until(() => changed !== null, 10000, "PROVIDER_CONFIGURATION_CHANGED");
  assert.equal(of.getStringValue("banner", ""), "Summer sale");
  await WebOF.clearProviders();

  // With values a server-rendered page embedded, the provider is ready
  // synchronously: the very first evaluation serves the embedded values.
  const embedded = await fetchValues({ bootstrapUrl: e.bootstrapUrl, token });
  const c = createClient({ bootstrapUrl: e.bootstrapUrl, token, jwks: e.jwks, project: "webshop", environment: "production", wasm,
    storage: memoryStorage(), bootstrap: embedded, onError: () => {} });
  const p2 = new EdgeflagWebProvider(c);
  assert.equal(p2.initialize, undefined);
  WebOF.setProvider(p2);
  assert.equal(WebOF.getClient().getStringValue("banner", "none"), "Summer sale");
  assert.equal(c.source, "embedded");
  await c.ready;
  assert.equal(c.source, "network");
});
