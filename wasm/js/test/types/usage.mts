// Compiled by types.test.mjs (tsc --noEmit, strict): the declarations
// describe the API as documented, and the providers fit the official
// OpenFeature SDKs' Provider interfaces. Each @ts-expect-error line must
// be an error, so the declarations are not just `any`.
import { OpenFeature as WebOF } from "@openfeature/web-sdk";
import { OpenFeature as ServerOF } from "@openfeature/server-sdk";
import { openBundle, createClient, fileStorage, readBootstrap, verifyValues, EdgeflagError, type EvaluationResult } from "../../index.mjs";
import { bootstrapScript, fetchValues } from "../../ssr.mjs";
import { EdgeflagWebProvider } from "../../openfeature/web.mjs";
import { EdgeflagServerProvider } from "../../openfeature/server.mjs";

declare const bytes: Uint8Array;
const jwks = { keys: [{ kty: "OKP", crv: "Ed25519", x: "x", kid: "k" }] };

export async function bundle(): Promise<string> {
  const b = await openBundle(bytes, { jwks, project: "shop", environment: "production", audience: "client", now: new Date(), grace: 60 });
  const r: EvaluationResult = b.evaluate("new-checkout", { targetingKey: "u-1", plan: "pro" });
  const all: EvaluationResult[] = b.evaluateAll({}, "2026-06-01T00:00:00.000000001Z");
  // @ts-expect-error audience is server or client
  await openBundle(bytes, { jwks, project: "p", environment: "e", audience: "browser" });
  // @ts-expect-error the flag key is a string
  b.evaluate(1, {});
  return r.variant + all.length + b.claims.expiresAt.toISOString();
}

export async function client(): Promise<boolean> {
  const boot = readBootstrap();
  const c = createClient({ bootstrapUrl: "/v1/bootstrap", token: boot?.token ?? "t", bootstrap: boot, jwks, project: "shop",
    environment: "production", storage: fileStorage("/tmp/x"), refreshSeconds: 30, wasm: new URL("https://cdn.example/edgeflag.wasm") });
  await c.ready;
  c.onChange((ch) => console.log(ch.version, ch.source));
  const id: string = c.track("purchase", { value: 42.5, attributes: { plan: "pro" } });
  // @ts-expect-error attributes are strings, numbers and booleans
  c.track("purchase", { attributes: { nested: {} } });
  const html: string = bootstrapScript({ token: "t", ...(await fetchValues({ bootstrapUrl: "https://e/v1/bootstrap", token: "t" })) });
  const v = await verifyValues("a.b.c", { jwks });
  try {
    await c.refresh();
  } catch (e) {
    if (e instanceof EdgeflagError) console.log(e.code);
  }
  return id.length > 0 && html.length > 0 && v.verified && c.evaluate("f", undefined, { type: "boolean" }).value === true;
}

export async function providers(): Promise<void> {
  await WebOF.setProviderAndWait(new EdgeflagWebProvider({ bootstrapUrl: "/v1/bootstrap", token: "t", jwks, project: "p", environment: "e" }));
  await ServerOF.setProviderAndWait(new EdgeflagServerProvider({ bootstrapUrl: "https://e/v1/flags", apiKey: "k", jwks, project: "p", environment: "e" }));
}
