// An OpenFeature web provider (@openfeature/web-sdk) over the client:
// in-process, static context, synchronous evaluation from the verified
// bundle (or the values in use), PROVIDER_CONFIGURATION_CHANGED when a new
// bundle is in use, the tracking API mapped to POST /v1/track.
//
//   import { OpenFeature } from "@openfeature/web-sdk";
//   import { EdgeflagWebProvider } from "edgeflag/wasm/js/openfeature/web.mjs";
//   await OpenFeature.setProviderAndWait(new EdgeflagWebProvider({ bootstrapUrl, token, jwks, project, environment }));

import { ProviderBase, resolve } from "./common.mjs";

export class EdgeflagWebProvider extends ProviderBase {
  /**
   * clientOrOptions is a Client or createClient's options. When the client
   * already evaluates something (values a server-rendered page embedded),
   * the provider has no initialize and is ready at once, so the first
   * render shows the right variants; otherwise initialize waits for the
   * first verified bundle.
   */
  constructor(clientOrOptions) {
    super(clientOrOptions, "client");
    if (this.client.version === 0) {
      this.initialize = async (context) => {
        if (context && Object.keys(context).length) this.client.context = { ...this.client.context, ...context };
        await this.client.ready;
        this.announce = true;
      };
    } else {
      this.announce = true;
    }
  }

  resolveBooleanEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "boolean");
  }

  resolveStringEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "string");
  }

  resolveNumberEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "number");
  }

  resolveObjectEvaluation(flagKey, defaultValue, context) {
    return resolve(this.client, flagKey, defaultValue, context, "object");
  }
}
