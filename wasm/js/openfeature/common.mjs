// What the two OpenFeature providers share: the event emitter the SDKs
// subscribe to (addHandler/removeHandler), and the mapping of the client's
// results to OpenFeature resolution details. No SDK is imported: the
// providers follow the SDKs' provider interface, so they add no runtime
// dependency.

import { Client, createClient } from "../client.mjs";

/** The OpenFeature provider events the providers emit. */
export const ProviderEvents = Object.freeze({
  Ready: "PROVIDER_READY", Error: "PROVIDER_ERROR", ConfigurationChanged: "PROVIDER_CONFIGURATION_CHANGED", Stale: "PROVIDER_STALE",
});

/** ProviderEmitter is the provider's `events`. */
export class ProviderEmitter {
  constructor() {
    this.handlers = new Map();
  }
  addHandler(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
  }
  removeHandler(type, handler) {
    this.handlers.get(type)?.delete(handler);
  }
  removeAllHandlers(type) {
    if (type === undefined) this.handlers.clear();
    else this.handlers.delete(type);
  }
  getHandlers(type) {
    return [...(this.handlers.get(type) ?? [])];
  }
  /** setLogger takes the SDK's logger for handler failures. */
  setLogger(logger) {
    this.logger = logger;
    return this;
  }
  emit(type, details) {
    for (const h of this.getHandlers(type)) {
      try {
        h(details);
      } catch (e) {
        this.logger?.error?.(`edgeflag: an event handler failed: ${e?.message ?? e}`);
      }
    }
  }
}

const OF_CODES = new Set(["FLAG_NOT_FOUND", "TYPE_MISMATCH", "PARSE_ERROR", "INVALID_CONTEXT", "PROVIDER_NOT_READY", "GENERAL"]);

/** clientOf returns the Client given, or creates one from options. */
export function clientOf(clientOrOptions, defaults) {
  if (clientOrOptions instanceof Client) return clientOrOptions;
  return createClient({ ...defaults, ...clientOrOptions });
}

/**
 * resolve evaluates flagKey as type and returns OpenFeature resolution
 * details. An error result gives the default value with the error code; a
 * split without a targeting key serves the default variant and says so in
 * flagMetadata.errorCode (as edgefn's OFREP answers do).
 */
export function resolve(client, flagKey, defaultValue, context, type) {
  const ctx = context && Object.keys(context).length ? { ...client.context, ...context } : client.context;
  const r = client.evaluate(flagKey, ctx, { type });
  const flagMetadata = { version: r.version };
  if (r.ruleId) flagMetadata.ruleId = r.ruleId;
  if (r.errorCode === "TARGETING_KEY_MISSING") flagMetadata.errorCode = r.errorCode;
  else if (r.errorCode) {
    return { value: defaultValue, reason: "ERROR", errorCode: OF_CODES.has(r.errorCode) ? r.errorCode : "GENERAL",
      errorMessage: r.errorMessage ?? `${r.errorCode}: ${flagKey}`, flagMetadata };
  }
  return { value: r.value, variant: r.variant, reason: r.reason, flagMetadata };
}

/** trackDetails maps OpenFeature tracking details to the client's track options. */
export function trackOptions(context, details) {
  const { value, ...rest } = details ?? {};
  const attributes = {};
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) attributes[k] = v;
  }
  return { value: typeof value === "number" ? value : undefined, attributes, context };
}

/**
 * ProviderBase is what both providers are made of: metadata, the event
 * emitter, the client (given or created from options), configuration
 * change events once ready, tracking and close.
 */
export class ProviderBase {
  constructor(clientOrOptions, runsOn, defaults) {
    this.metadata = { name: "edgeflag" };
    this.runsOn = runsOn;
    this.hooks = [];
    this.events = new ProviderEmitter();
    this.client = clientOf(clientOrOptions, defaults);
    this.unsubscribe = this.client.onChange((ch) => {
      if (this.announce) {
        this.events.emit(ProviderEvents.ConfigurationChanged, { message: `edgeflag version ${ch.version} (${ch.source})`, metadata: { version: ch.version } });
      }
    });
  }

  /** track maps OpenFeature's tracking API to a conversion event. */
  track(trackingEventName, context, trackingEventDetails) {
    this.client.track(trackingEventName, trackOptions(context, trackingEventDetails));
  }

  async onClose() {
    this.unsubscribe();
    await this.client.close();
  }
}
