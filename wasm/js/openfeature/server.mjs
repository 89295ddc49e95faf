// An OpenFeature server provider (@openfeature/server-sdk) over the
// client: in-process evaluation of the signed server bundle (GET
// /v1/flags with an API key, verified in the module), a dynamic context
// per call, PROVIDER_CONFIGURATION_CHANGED on a new bundle, tracking to
// POST /v1/track with the context's targetingKey as the unit.
//
//   import { OpenFeature } from "@openfeature/server-sdk";
//   import { EdgeflagServerProvider } from "edgeflag/wasm/js/openfeature/server.mjs";
//   await OpenFeature.setProviderAndWait(new EdgeflagServerProvider({
//     bootstrapUrl: "https://flags.example.com/v1/flags", apiKey, jwks, project, environment, storage: "/var/cache/edgeflag" }));

import { ProviderBase, resolve } from "./common.mjs";

export class EdgeflagServerProvider extends ProviderBase {
  /** clientOrOptions is a Client or createClient's options (audience defaults to server). */
  constructor(clientOrOptions) {
    super(clientOrOptions, "server", { audience: "server" });
  }

  async initialize() {
    await this.client.ready;
    this.announce = true;
  }

  async resolveBooleanEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "boolean");
  }

  async resolveStringEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "string");
  }

  async resolveNumberEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "number");
  }

  async resolveObjectEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "object");
  }
}
