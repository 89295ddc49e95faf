// edgeflag's JavaScript client (docs/browser.md): the wasm engine and
// verifier behind openBundle, and createClient for browsers, Node and
// edge runtimes. ES modules, no dependencies, no build step.

export { openBundle, Bundle } from "./bundle.mjs";
export { createClient, Client } from "./client.mjs";
export { loadModule, DEFAULT_MODULES } from "./engine.mjs";
export { EdgeflagError } from "./errors.mjs";
export { memoryStorage, webStorage, indexedDBStorage, fileStorage } from "./storage.mjs";
export { verifyValues, parseValues, importJWKS, Values, VALUES_TYPE } from "./values.mjs";
export { readBootstrap, BOOTSTRAP_ID } from "./bootstrap.mjs";
