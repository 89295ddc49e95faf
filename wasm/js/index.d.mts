// TypeScript declarations of wasm/js/index.mjs (docs/browser.md).

/** A time: a Date, milliseconds since the epoch, or an RFC 3339 string (exact to the nanosecond). */
export type TimeInput = Date | number | string;

/** An evaluation context (OpenFeature's): targetingKey is the bucketing unit. */
export type EvaluationContext = { targetingKey?: string; [attribute: string]: unknown };

/** The caller's expected flag type; another type gives TYPE_MISMATCH. */
export type FlagType = "boolean" | "string" | "number" | "object";

/** A JSON Web Key Set, parsed (or, for openBundle, its text). */
export interface JWKS { keys: Array<Record<string, string>> }

/** One evaluation result: exactly what `edgeflag eval` prints. */
export interface EvaluationResult {
  key: string;
  value: unknown;
  /** "" on errors. */
  variant: string;
  reason: "STATIC" | "DEFAULT" | "TARGETING_MATCH" | "SPLIT" | "DISABLED" | "ERROR";
  /** Present only when set. The engine gives FLAG_NOT_FOUND, TYPE_MISMATCH, TARGETING_KEY_MISSING; the client also PROVIDER_NOT_READY, INVALID_CONTEXT, GENERAL. */
  errorCode?: string;
  /** Present only when a rule decided. */
  ruleId?: string;
  /** The bundle (or values) version; 0 before anything is in use. */
  version: number;
  /** Only on the client's own errors (INVALID_CONTEXT, GENERAL). */
  errorMessage?: string;
}

/** The verified claims of an opened bundle. */
export interface Claims {
  version: number;
  project: string;
  environment: string;
  audience: "server" | "client";
  algorithm: "EdDSA" | "ES256";
  keyId: string;
  issuedAt: Date;
  expiresAt: Date;
  /** The number of flags. */
  flags: number;
}

/** Where the module comes from: a URL, bytes, a compiled module, or a list tried in order. */
export type WasmSource = string | URL | BufferSource | WebAssembly.Module | Array<string | URL | BufferSource | WebAssembly.Module>;

export interface OpenBundleOptions {
  /** The publisher's JWKS: the parsed object, or its text (given to the verifier byte for byte). */
  jwks: JWKS | string;
  project: string;
  environment: string;
  audience: "server" | "client";
  /** Verification time (default: now). */
  now?: TimeInput;
  /** Seconds after the expiry a bundle is still accepted (default 0). */
  grace?: number;
  /** The highest version accepted before: lower ones are ErrRollback. */
  lastVersion?: number;
  /** Seconds the issue time may lie in the future (default 0). */
  maxSkew?: number;
  /** Allowed algorithms (default: all the module verifies). */
  algorithms?: Array<"EdDSA" | "ES256">;
  maxCompressed?: number;
  maxDecompressed?: number;
  /** The module (default DEFAULT_MODULES). */
  wasm?: WasmSource;
  fetch?: typeof fetch;
  /** Receives what the module writes to stderr (only fatal runtime messages). */
  log?: (text: string) => void;
}

/** An opened, verified bundle. Evaluations are synchronous. */
export declare class Bundle {
  readonly version: number;
  readonly claims: Claims;
  evaluate(flagKey: string, context?: EvaluationContext | null, now?: TimeInput, type?: FlagType): EvaluationResult;
  evaluateAll(context?: EvaluationContext | null, now?: TimeInput): EvaluationResult[];
  /** The result as the JSON text `edgeflag eval` prints. */
  evaluateJSON(flagKey: string, context?: EvaluationContext | null, now?: TimeInput, type?: FlagType): string;
  evaluateAllJSON(context?: EvaluationContext | null, now?: TimeInput): string;
  flagKeys(): string[];
  close(): void;
}

/** Verifies bytes inside the module and opens them; rejects with an EdgeflagError (ErrSignature, ErrExpired, ...). */
export declare function openBundle(bytes: Uint8Array | string, options: OpenBundleOptions): Promise<Bundle>;

/** A stable error name in `code`. */
export declare class EdgeflagError extends Error {
  readonly code: string;
  /** The HTTP status, for ErrHTTP. */
  status?: number;
  constructor(code: string, message: string, options?: { cause?: unknown });
}

export declare const DEFAULT_MODULES: readonly string[];
export declare function loadModule(source?: WasmSource, options?: { fetch?: typeof fetch }): Promise<WebAssembly.Module>;

/** Where the client keeps the last verified bundle and the highest version seen. */
export interface Storage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}
export declare function memoryStorage(): Storage;
export declare function webStorage(ls?: globalThis.Storage): Storage;
export declare function indexedDBStorage(options?: { name?: string; store?: string; indexedDB?: IDBFactory }): Storage;
/** Node: one file per key in dir, written atomically, read only if a regular file. */
export declare function fileStorage(dir: string): Storage;

/** What a server-rendered page embeds (ssr.mjs), read by readBootstrap. */
export interface Bootstrap {
  token?: string;
  values?: string;
  valuesEtag?: string;
  bundle?: string;
  bundleEtag?: string;
}
export declare const BOOTSTRAP_ID: string;
export declare function readBootstrap(id?: string, doc?: Document): Bootstrap | null;

export interface TrackOptions {
  /** Events per request (1-1000, default 100). */
  maxBatch?: number;
  /** Events kept while edgefn cannot be reached (default 1000; the oldest go first). */
  maxQueue?: number;
  /** How long an event waits for its batch (default 5). */
  flushSeconds?: number;
  /** Which evaluations send an exposure: splits only (default), all, or none. */
  exposures?: "split" | "all" | "none" | false;
}

export interface ClientOptions {
  /** edgefn's GET /v1/bootstrap (or /v1/flags with an API key, audience server). */
  bootstrapUrl: string | URL;
  token?: string;
  getToken?: () => string | Promise<string>;
  /** A server API key (X-API-Key), for server-side use. */
  apiKey?: string;
  /** The publisher's bundle JWKS (bundle mode). */
  jwks?: JWKS;
  project: string;
  environment: string;
  /** "client" (default) or "server". */
  audience?: "server" | "client";
  /** Bundle mode (default) verifies and evaluates in wasm; values mode uses signed values (no wasm). */
  mode?: "bundle" | "values";
  /** edgefn's /v1/keys JWKS, pinned (values mode, embedded values). */
  valuesJwks?: JWKS;
  /** Whose values are acceptable (default: the token's subject). */
  subject?: string;
  /** An object, a directory (Node: fileStorage), null for memory; default localStorage where there is one. */
  storage?: Storage | string | null;
  /** Seconds a bootstrap or track request may take (default 30; the stream has none). */
  timeoutSeconds?: number;
  /** Polling interval without a stream (default 60; 0: never). */
  refreshSeconds?: number;
  /** Follow /v1/stream when offered (default true). */
  stream?: boolean;
  streamUrl?: string | URL;
  trackUrl?: string | URL;
  wasm?: WasmSource;
  /** The default evaluation context. */
  context?: EvaluationContext;
  /** Seconds after the expiry a stored bundle is still used (default 0). */
  grace?: number;
  /** Seconds a bundle's issue time may lie ahead of this clock (default 300). */
  maxSkew?: number;
  algorithms?: Array<"EdDSA" | "ES256">;
  /** What the server-rendered page embedded (readBootstrap()). */
  bootstrap?: Bootstrap | null;
  track?: TrackOptions;
  fetch?: typeof fetch;
  /** The clock, in milliseconds (default Date.now). */
  clock?: () => number;
  onError?: (error: EdgeflagError) => void;
  log?: (text: string) => void;
}

export interface Change { version: number; previous?: number; source: "embedded" | "storage" | "network" | "none" }

export interface EvaluateOptions { type?: FlagType; now?: TimeInput; expose?: boolean }

export declare class Client {
  constructor(options: ClientOptions);
  /** Resolves once verified flags are in use; rejects when none could be had. */
  readonly ready: Promise<void>;
  readonly version: number;
  readonly source: "none" | "embedded" | "storage" | "network";
  readonly highest: number;
  context: EvaluationContext;
  readonly stats: { fetches: number; notModified: number; updates: number; refused: number; streamEvents: number };
  evaluate(flagKey: string, context?: EvaluationContext | null, options?: EvaluateOptions): EvaluationResult;
  evaluateAll(context?: EvaluationContext | null, options?: { now?: TimeInput }): EvaluationResult[];
  onChange(listener: (change: Change) => void): () => void;
  /** Queues an event; returns its id. */
  track(name: string, options?: { value?: number; attributes?: Record<string, string | number | boolean>; type?: "conversion" | "custom"; context?: EvaluationContext }): string;
  flush(): Promise<void>;
  /** Fetches now; true when something new is in use. */
  refresh(): Promise<boolean>;
  close(): Promise<void>;
}
export declare function createClient(options: ClientOptions): Client;

export interface VerifyValuesOptions {
  /** edgefn's /v1/keys JWKS (or what importJWKS made). */
  jwks: JWKS | Map<string, { alg: string; key: CryptoKey }>;
  project?: string;
  environment?: string;
  subject?: string;
  now?: TimeInput;
  grace?: number;
  /** Default 300 seconds. */
  maxSkew?: number;
  lastVersion?: number;
}
export declare const VALUES_TYPE: "edgeflag-values+jws";
export declare class Values {
  readonly verified: boolean;
  readonly version: number;
  readonly subject: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  evaluate(flagKey: string, type?: FlagType): EvaluationResult;
  evaluateAll(): EvaluationResult[];
}
export declare function verifyValues(jws: string, options: VerifyValuesOptions): Promise<Values>;
export declare function parseValues(jws: string, options?: { project?: string; environment?: string }): Values;
export declare function importJWKS(jwks: JWKS): Promise<Map<string, { alg: "EdDSA" | "ES256"; key: CryptoKey }>>;
