// What a server-rendered page embeds for the client's first paint
// (ssr.mjs writes it, readBootstrap reads it): one
// <script type="application/json" id="edgeflag-bootstrap"> element holding
// {"token", "values", "valuesEtag", "bundle", "bundleEtag"} (each optional).

import { EdgeflagError } from "./errors.mjs";

export const BOOTSTRAP_ID = "edgeflag-bootstrap";
const MEMBERS = new Set(["token", "values", "valuesEtag", "bundle", "bundleEtag"]);

/** checkBootstrap validates an embedded bootstrap object. */
export function checkBootstrap(b) {
  if (b === null || typeof b !== "object" || Array.isArray(b)) throw new EdgeflagError("ErrArgument", "bootstrap: want an object");
  for (const [k, v] of Object.entries(b)) {
    if (!MEMBERS.has(k)) throw new EdgeflagError("ErrArgument", `bootstrap: unknown member ${JSON.stringify(k)}`);
    if (typeof v !== "string") throw new EdgeflagError("ErrArgument", `bootstrap: ${k} must be a string`);
  }
  return b;
}

/**
 * readBootstrap reads the embedded bootstrap from the page synchronously
 * (doc defaults to the current document); null when the page has none.
 */
export function readBootstrap(id = BOOTSTRAP_ID, doc = globalThis.document) {
  const el = doc?.getElementById(id);
  if (!el) return null;
  let b;
  try {
    b = JSON.parse(el.textContent);
  } catch (e) {
    throw new EdgeflagError("ErrArgument", `bootstrap #${id}: not JSON: ${e.message}`);
  }
  return checkBootstrap(b);
}
