// The server half of "no flicker" (docs/browser.md): while rendering a
// page for a user, fetch that user's signed values from edgefn and embed
// them — with the client token the browser will use — in the HTML, so the
// browser client evaluates synchronously before any network call.

import { BOOTSTRAP_ID, checkBootstrap } from "./bootstrap.mjs";
import { EdgeflagError } from "./errors.mjs";

/**
 * fetchValues fetches GET /v1/bootstrap?mode=values with a client token
 * (minted for this user with POST /v1/tokens) and resolves to
 * {values, valuesEtag}, ready for bootstrapScript. It does not verify: the
 * browser does.
 */
export async function fetchValues({ bootstrapUrl, token, fetch: fetchFn = globalThis.fetch, signal } = {}) {
  if (!bootstrapUrl || !token) throw new EdgeflagError("ErrArgument", "fetchValues: bootstrapUrl and token are required");
  const url = new URL(String(bootstrapUrl));
  url.searchParams.set("mode", "values");
  let res;
  try {
    res = await fetchFn(url, { headers: { Authorization: `Bearer ${token}`, Accept: "application/jose" }, signal });
  } catch (e) {
    throw new EdgeflagError("ErrFetch", `GET ${url.pathname}: ${e.message}`, { cause: e });
  }
  const body = await res.text();
  if (res.status !== 200) {
    const e = new EdgeflagError("ErrHTTP", `GET ${url.pathname}?mode=values: HTTP ${res.status}: ${body.slice(0, 300)}`);
    e.status = res.status;
    throw e;
  }
  return { values: body, valuesEtag: res.headers.get("etag") ?? undefined };
}

// Inside <script> the text must not close the element or open a comment;
// JSON escapes keep it valid JSON (and U+2028/U+2029 are escaped for old
// parsers).
const UNSAFE = /[<>&\u2028\u2029]/g;
const escapeChar = (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");

/**
 * bootstrapScript returns the HTML element to put in the page's <head>
 * (before the client's module script): a JSON script element that
 * readBootstrap() reads. bootstrap is {token?, values?, valuesEtag?,
 * bundle?, bundleEtag?}; nonce, if given, is set for a strict CSP.
 */
export function bootstrapScript(bootstrap, { id = BOOTSTRAP_ID, nonce } = {}) {
  const b = {};
  for (const [k, v] of Object.entries(bootstrap ?? {})) if (v !== undefined) b[k] = v;
  checkBootstrap(b);
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(id)) throw new EdgeflagError("ErrArgument", "bootstrapScript: id must be a plain identifier");
  if (nonce !== undefined && !/^[A-Za-z0-9+/=_-]+$/.test(nonce)) throw new EdgeflagError("ErrArgument", "bootstrapScript: nonce must be base64");
  const json = JSON.stringify(b).replace(UNSAFE, escapeChar);
  return `<script type="application/json" id="${id}"${nonce ? ` nonce="${nonce}"` : ""}>${json}</script>`;
}
