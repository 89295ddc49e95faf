// The unit cookie (docs/edge.md): a stable, random, opaque id per browser,
// the targeting key of every evaluation at the edge.

/** The cookie's name (the CloudFront cache policy must not key on it). */
export const UNIT_COOKIE = "ef_uid";

/** MAX_UNIT bounds a unit id's length: longer cookies are replaced. */
export const MAX_UNIT = 64;

// A unit id is 1-64 characters of the URL-safe base64 alphabet; the ids
// the edge makes are 22 of them (128 random bits). An application may set
// its own (its user id, so the edge and its servers bucket alike) within
// the same alphabet.
const UNIT = /^[A-Za-z0-9_-]{1,64}$/;

// At most this many bytes of Cookie headers are searched; a request
// whose Cookie headers are larger is treated as having no valid unit
// cookie (it is not trusted, and the search stays cheap).
const MAX_COOKIE_SCAN = 16384;

/** validUnit reports whether s is a unit id the edge accepts. */
export const validUnit = (s) => typeof s === "string" && UNIT.test(s);

/**
 * readUnit finds the unit cookie in Cookie header values (an array of
 * strings: CloudFront may pass several). It returns {unit, state}: state
 * "ok" (unit is the first valid ef_uid), "absent" (none sent) or
 * "invalid" (one was sent, none valid: malformed, oversize, or the
 * headers too large to search).
 */
export function readUnit(values) {
  let total = 0;
  let seen = false;
  for (const v of values) {
    total += v.length;
    if (total > MAX_COOKIE_SCAN) return { unit: null, state: "invalid" };
    for (const part of v.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== UNIT_COOKIE) continue;
      seen = true;
      let val = part.slice(eq + 1).trim();
      if (val.length >= 2 && val[0] === '"' && val[val.length - 1] === '"') val = val.slice(1, -1);
      if (validUnit(val)) return { unit: val, state: "ok" };
    }
  }
  return { unit: null, state: seen ? "invalid" : "absent" };
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * newUnit makes a unit id from 16 random bytes (random(n) returns a
 * Uint8Array of n bytes): 22 base64url characters.
 */
export function newUnit(random) {
  const b = random(16);
  if (!(b instanceof Uint8Array) || b.length !== 16) throw new Error("random(16) must return 16 bytes");
  let out = "";
  let acc = 0, bits = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += B64URL[(acc >> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B64URL[(acc << (6 - bits)) & 63];
  return out;
}

/** cryptoRandom is the default source of random bytes (Web Crypto). */
export const cryptoRandom = (n) => crypto.getRandomValues(new Uint8Array(n));

/**
 * setCookie is the Set-Cookie value for unit: host-only unless a domain
 * is configured, Path=/, Max-Age in seconds, Secure, HttpOnly,
 * SameSite=Lax.
 */
export function setCookie(unit, { maxAgeSeconds, domain }) {
  let c = `${UNIT_COOKIE}=${unit}; Path=/; Max-Age=${maxAgeSeconds}`;
  if (domain) c += `; Domain=${domain}`;
  return c + "; Secure; HttpOnly; SameSite=Lax";
}
