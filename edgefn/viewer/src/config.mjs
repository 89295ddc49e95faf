// The configuration baked into an edge package (docs/edge.md): written by
// `make edge` (edgeflag-edge, which checks the author's YAML with
// file:line errors) as config.json, and checked again here, strictly, when
// a function instance starts — a package assembled by hand gets a clear
// error at its first request instead of wrong answers.

import { patternError } from "./routes.mjs";

/** CONFIG_FORMAT is the version of config.json this code reads. */
export const CONFIG_FORMAT = 1;

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._~-]{0,127}$/; // docs/config.md: names; not starting with . or ~
const HEADER = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/; // an HTTP token, lower case (CloudFront's header keys)
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Limits of config.json (the packager applies the same). */
export const LIMITS = Object.freeze({
  routes: 256, flagsPerRoute: 32, contextAttributes: 16,
  flagsHeaderMin: 256, flagsHeaderMax: 8192, flagsHeaderDefault: 4096,
  maxAgeMax: 400 * 86400, // browsers cap cookie lifetimes at 400 days
  refreshIntervalMin: 5, refreshIntervalMax: 86400, refreshTimeoutMax: 25,
});

class ConfigError extends Error {
  constructor(path, msg) {
    super(`config.json: ${path}: ${msg}`);
    this.name = "ConfigError";
  }
}

function members(obj, path, required, optional = []) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new ConfigError(path, "want an object");
  for (const k of Object.keys(obj)) {
    if (!required.includes(k) && !optional.includes(k)) throw new ConfigError(path, `unknown member ${JSON.stringify(k)}`);
  }
  for (const k of required) if (!(k in obj)) throw new ConfigError(path, `missing member ${JSON.stringify(k)}`);
}

const isInt = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

function loopback(host) {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * checkConfig checks a parsed config.json and returns it frozen with its
 * optional members filled in. It throws a ConfigError naming the member.
 */
export function checkConfig(c) {
  members(c, "$", ["format", "project", "environment", "routes", "defaults"],
    ["context", "cookie", "flagsHeaderMaxBytes", "graceSeconds", "refresh"]);
  if (c.format !== CONFIG_FORMAT) throw new ConfigError("format", `want ${CONFIG_FORMAT}, got ${JSON.stringify(c.format)}`);
  for (const k of ["project", "environment"]) {
    if (typeof c[k] !== "string" || !NAME.test(c[k])) throw new ConfigError(k, "want a name ([A-Za-z0-9._~-], 1-128, not starting with . or ~)");
  }
  if (!Array.isArray(c.routes) || c.routes.length > LIMITS.routes) throw new ConfigError("routes", `want a list of at most ${LIMITS.routes} routes`);
  const used = new Set();
  const routes = c.routes.map((r, i) => {
    const p = `routes[${i}]`;
    members(r, p, ["pattern", "flags"]);
    const why = patternError(r.pattern);
    if (why) throw new ConfigError(`${p}.pattern`, why);
    if (!Array.isArray(r.flags) || r.flags.length > LIMITS.flagsPerRoute) throw new ConfigError(`${p}.flags`, `want a list of at most ${LIMITS.flagsPerRoute} flag keys`);
    const seen = new Set();
    for (const [j, f] of r.flags.entries()) {
      if (typeof f !== "string" || !NAME.test(f)) throw new ConfigError(`${p}.flags[${j}]`, "want a flag key");
      if (seen.has(f)) throw new ConfigError(`${p}.flags[${j}]`, `${f} is listed twice`);
      seen.add(f);
      used.add(f);
    }
    return Object.freeze({ pattern: r.pattern, flags: Object.freeze([...r.flags]) });
  });
  if (c.defaults === null || typeof c.defaults !== "object" || Array.isArray(c.defaults)) throw new ConfigError("defaults", "want an object: flag key -> default value");
  for (const f of used) {
    if (!Object.hasOwn(c.defaults, f)) throw new ConfigError("defaults", `no default for ${f}, which a route evaluates`);
  }
  for (const [k, v] of Object.entries(c.defaults)) {
    if (!used.has(k)) throw new ConfigError(`defaults.${k}`, "no route evaluates this flag");
    if (v === null || !["boolean", "string", "number", "object"].includes(typeof v)) throw new ConfigError(`defaults.${k}`, "want a boolean, string, number or object");
    if (typeof v === "object" && Array.isArray(v)) throw new ConfigError(`defaults.${k}`, "an object flag's default is an object");
  }
  const context = c.context ?? {};
  members(context, "context", [], Object.keys(context));
  if (Object.keys(context).length > LIMITS.contextAttributes) throw new ConfigError("context", `at most ${LIMITS.contextAttributes} attributes`);
  for (const [k, v] of Object.entries(context)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k) || k === "targetingKey") throw new ConfigError(`context.${k}`, "want an attribute name ([A-Za-z_][A-Za-z0-9_]*, not targetingKey: that is the unit)");
    members(v, `context.${k}`, ["header"]);
    if (typeof v.header !== "string" || !HEADER.test(v.header) || v.header.startsWith("x-edgeflag-")) throw new ConfigError(`context.${k}.header`, "want a lower-case header name (not x-edgeflag-*)");
  }
  const cookie = c.cookie ?? {};
  members(cookie, "cookie", [], ["maxAgeSeconds", "domain"]);
  const maxAgeSeconds = cookie.maxAgeSeconds ?? 365 * 86400;
  if (!isInt(maxAgeSeconds, 1, LIMITS.maxAgeMax)) throw new ConfigError("cookie.maxAgeSeconds", `want 1-${LIMITS.maxAgeMax} seconds`);
  const domain = cookie.domain ?? "";
  if (domain !== "" && (typeof domain !== "string" || !DOMAIN.test(domain))) throw new ConfigError("cookie.domain", "want a host name");
  const flagsHeaderMaxBytes = c.flagsHeaderMaxBytes ?? LIMITS.flagsHeaderDefault;
  if (!isInt(flagsHeaderMaxBytes, LIMITS.flagsHeaderMin, LIMITS.flagsHeaderMax)) {
    throw new ConfigError("flagsHeaderMaxBytes", `want ${LIMITS.flagsHeaderMin}-${LIMITS.flagsHeaderMax}`);
  }
  const graceSeconds = c.graceSeconds ?? 0;
  if (!isInt(graceSeconds, 0, 365 * 86400)) throw new ConfigError("graceSeconds", "want 0-31536000 seconds");
  let refresh = null;
  if (c.refresh !== undefined && c.refresh !== null) {
    members(c.refresh, "refresh", ["url"], ["intervalSeconds", "timeoutSeconds"]);
    let u;
    try {
      u = new URL(c.refresh.url);
    } catch {
      throw new ConfigError("refresh.url", "want an absolute URL");
    }
    if (!(u.protocol === "https:" || (u.protocol === "http:" && loopback(u.hostname)))) {
      throw new ConfigError("refresh.url", "want https:// (http:// only for a loopback host, in tests)");
    }
    if (u.username || u.password) throw new ConfigError("refresh.url", "credentials in the URL would be baked into the package");
    const intervalSeconds = c.refresh.intervalSeconds ?? 60;
    if (!isInt(intervalSeconds, LIMITS.refreshIntervalMin, LIMITS.refreshIntervalMax)) throw new ConfigError("refresh.intervalSeconds", `want ${LIMITS.refreshIntervalMin}-${LIMITS.refreshIntervalMax}`);
    const timeoutSeconds = c.refresh.timeoutSeconds ?? 2;
    if (!isInt(timeoutSeconds, 1, LIMITS.refreshTimeoutMax)) throw new ConfigError("refresh.timeoutSeconds", `want 1-${LIMITS.refreshTimeoutMax}`);
    refresh = Object.freeze({ url: u.href, intervalSeconds, timeoutSeconds });
  }
  return Object.freeze({
    format: c.format, project: c.project, environment: c.environment, routes: Object.freeze(routes),
    defaults: Object.freeze({ ...c.defaults }), context: Object.freeze({ ...context }),
    cookie: Object.freeze({ maxAgeSeconds, domain }), flagsHeaderMaxBytes, graceSeconds, refresh,
  });
}
