// TypeScript declarations of wasm/js/ssr.mjs.
import type { Bootstrap } from "./index.mjs";

/** Fetches GET /v1/bootstrap?mode=values for a client token (not verified here). */
export declare function fetchValues(options: { bootstrapUrl: string | URL; token: string; fetch?: typeof fetch; signal?: AbortSignal }): Promise<{ values: string; valuesEtag?: string }>;
/** The <script type="application/json"> element readBootstrap() reads. */
export declare function bootstrapScript(bootstrap: Bootstrap, options?: { id?: string; nonce?: string }): string;
