// createClient: the bootstrap → verify → evaluate-locally client of
// docs/browser.md, for browsers, Node and edge runtimes.

import { Engine, loadModule } from "./engine.mjs";
import { EdgeflagError } from "./errors.mjs";
import { resolveStorage } from "./storage.mjs";
import { EventQueue, eventId } from "./track.mjs";
import { readEvents } from "./sse.mjs";
import { b64url, importJWKS, parseValues, verifyValues } from "./values.mjs";

const MAX_BODY = 32 << 20; // a signed bundle is at most 8 MiB compressed, 4/3 of that in base64url
const utf8 = new TextEncoder();

const notReady = (key) => ({ key, value: null, variant: "", reason: "ERROR", errorCode: "PROVIDER_NOT_READY", version: 0 });

function errorResult(key, e, version) {
  const code = e?.code === "ErrContext" ? "INVALID_CONTEXT" : "GENERAL";
  return { key, value: null, variant: "", reason: "ERROR", errorCode: code, errorMessage: e?.message ?? String(e), version };
}

/** createClient makes a Client (see Client). It returns at once; await client.ready. */
export function createClient(opts) {
  return new Client(opts);
}

/**
 * Client fetches the signed client bundle (or, in values mode, the signed
 * values) from edgefn, verifies it, keeps the last verified one and the
 * highest version seen in storage, follows the change stream (or polls),
 * evaluates locally and synchronously, and batches exposures and tracked
 * events to /v1/track.
 */
export class Client {
  constructor(opts = {}) {
    for (const k of ["bootstrapUrl", "project", "environment"]) {
      if (!opts[k]) throw new EdgeflagError("ErrArgument", `createClient: ${k} is required`);
    }
    this.mode = opts.mode ?? "bundle";
    if (this.mode !== "bundle" && this.mode !== "values") throw new EdgeflagError("ErrArgument", "createClient: mode must be bundle or values");
    if (this.mode === "bundle" && !opts.jwks) throw new EdgeflagError("ErrArgument", "createClient: jwks (the publisher's bundle JWKS) is required");
    if (this.mode === "values" && !opts.valuesJwks) throw new EdgeflagError("ErrArgument", "createClient: valuesJwks (edgefn's /v1/keys JWKS, pinned) is required in values mode");
    if ([opts.token, opts.getToken, opts.apiKey].filter((x) => x !== undefined).length !== 1) {
      throw new EdgeflagError("ErrArgument", "createClient: give exactly one of token, getToken or apiKey");
    }
    this.opts = opts;
    this.audience = opts.audience ?? "client";
    this.bootstrapUrl = new URL(String(opts.bootstrapUrl), globalThis.location?.href);
    this.streamUrl = opts.stream === false ? null : new URL(opts.streamUrl ?? "stream", this.bootstrapUrl);
    this.trackUrl = new URL(opts.trackUrl ?? "track", this.bootstrapUrl);
    this.fetch = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.clock = opts.clock ?? (() => Date.now());
    this.refreshMs = (opts.refreshSeconds ?? 60) * 1000;
    this.timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
    /** The default evaluation context (static context: OpenFeature web). */
    this.context = opts.context ?? {};
    this.storage = resolveStorage(opts.storage);
    this.prefix = `edgeflag.${opts.project}.${opts.environment}.${this.audience}.`;
    this.engine = null;
    this.claims = null; // the open bundle's claims
    this.values = null; // the values in use (embedded, stored or fetched)
    this.etag = null; // of what is in use, when it came from edgefn
    /** Where what is evaluated came from: none, embedded, storage or network. */
    this.source = "none";
    /** The highest version accepted, here or in an earlier run. */
    this.highest = 0;
    this.listeners = new Set();
    this.closed = false;
    this.aborter = new AbortController();
    this.sleeps = new Set();
    this.exposed = new Set();
    this.exposures = opts.track?.exposures ?? "split";
    this.tokenValue = opts.token;
    /** Counters, for tests and dashboards. */
    this.stats = { fetches: 0, notModified: 0, updates: 0, refused: 0, streamEvents: 0 };
    const t = opts.track ?? {};
    this.events = new EventQueue({ send: (body, o) => this.sendTrack(body, o), maxBatch: t.maxBatch, maxQueue: t.maxQueue,
      flushSeconds: t.flushSeconds, onError: (e) => this.report(e) });
    if (opts.bootstrap) this.useEmbedded(opts.bootstrap);
    this.installPageHooks();
    /** Resolves once a verified bundle (or verified values) is in use; rejects if none could be had. */
    this.ready = this.start();
    this.ready.catch(() => {});
  }

  /** version is the version of what is evaluated (0 before anything). */
  get version() {
    return this.bundleInUse() ? this.claims.version : this.values?.version ?? 0;
  }

  // bundleInUse: the open bundle is evaluated unless the page embedded
  // values of a newer version (a stored bundle from an earlier visit must
  // not take the first paint's variants back).
  bundleInUse() {
    return this.claims !== null && !(this.values && this.values.version > this.claims.version);
  }

  report(e) {
    this.lastError = e;
    if (this.opts.onError) this.opts.onError(e);
    else globalThis.console?.warn?.(`edgeflag: ${e.message}`);
  }

  verified() {
    return this.mode === "bundle" ? this.claims !== null : this.values?.verified === true;
  }

  // useEmbedded takes what a server-rendered page embedded (ssr.mjs):
  // values are used at once, unverified, for the first paint; a bundle is
  // opened (verified) as soon as the module is loaded.
  useEmbedded(b) {
    if (b.values) {
      try {
        this.values = parseValues(b.values, this.opts);
        this.valuesText = b.values;
        this.source = "embedded";
        if (this.mode === "values") this.etag = b.valuesEtag ?? null;
      } catch (e) {
        this.report(new EdgeflagError(e.code ?? "ErrValues", `embedded values refused: ${e.message}`));
      }
    }
    if (b.bundle && this.mode === "bundle") this.embeddedBundle = { text: b.bundle, etag: b.bundleEtag ?? null };
  }

  trust() {
    const o = this.opts;
    return { jwks: o.jwks, project: o.project, environment: o.environment, audience: this.audience, grace: o.grace ?? 0,
      maxSkew: o.maxSkew ?? 300, lastVersion: this.highest, ...(o.algorithms ? { algorithms: o.algorithms } : {}) };
  }

  async start() {
    try {
      const [module] = await Promise.all([
        this.mode === "bundle" ? loadModule(this.opts.wasm, { fetch: this.opts.fetch }) : null,
        this.loadHighest(),
        this.mode === "values" ? importJWKS(this.opts.valuesJwks).then((k) => { this.valuesKeys = k; }) : null,
      ]);
      if (module) this.engine = await Engine.create(module, { log: this.opts.log });
      if (this.mode === "values" && this.tokenValue === undefined && this.opts.getToken) await this.auth(true).catch((e) => this.report(e));
      if (this.values && this.mode === "values") await this.verifyEmbedded();
      await this.loadStored();
      if (this.embeddedBundle) {
        await this.accept(utf8.encode(this.embeddedBundle.text), "embedded", this.embeddedBundle.etag)
          .catch((e) => this.report(new EdgeflagError(e.code ?? "ErrValues", `embedded bundle refused: ${e.message}`)));
      }
      if (this.values && !this.values.verified && this.mode === "bundle" && this.opts.valuesJwks && !this.claims) {
        this.valuesKeys = await importJWKS(this.opts.valuesJwks);
        await this.verifyEmbedded();
      }
      try {
        await this.refresh();
      } catch (e) {
        if (!this.verified()) throw e;
        this.report(e); // offline: the stored bundle serves
      }
      if (!this.verified()) throw new EdgeflagError("ErrNoFlags", "no verified flags: nothing stored and nothing fetched");
    } finally {
      if (!this.closed) this.following = this.follow();
    }
  }

  async verifyEmbedded() {
    try {
      this.values = await verifyValues(this.valuesText, this.valuesOpts());
      if (this.values.version > this.highest) this.highest = this.values.version;
    } catch (e) {
      this.values = null;
      this.source = "none";
      this.report(new EdgeflagError(e.code ?? "ErrValues", `embedded values refused: ${e.message}`));
      this.emit({ version: 0, source: "none" });
    }
  }

  // subject is whose values are acceptable: opts.subject, else the
  // subject of the client token (read, not verified: edgefn verifies it).
  subject() {
    if (this.opts.subject !== undefined) return this.opts.subject;
    try {
      const sub = JSON.parse(new TextDecoder().decode(b64url(String(this.tokenValue).split(".")[1] ?? "", "token"))).sub;
      return typeof sub === "string" ? sub : undefined;
    } catch {
      return undefined;
    }
  }

  valuesOpts() {
    const o = this.opts;
    const subject = this.subject();
    if (subject === undefined) throw new EdgeflagError("ErrSubject", "values mode needs the subject: give subject, or a token whose payload names it");
    return { jwks: this.valuesKeys, project: o.project, environment: o.environment, subject, now: this.clock(),
      grace: o.grace ?? 0, maxSkew: o.maxSkew ?? 300, lastVersion: this.highest };
  }

  async loadHighest() {
    try {
      const s = await this.storage.get(this.prefix + "highest");
      if (s !== null) {
        if (!/^\d{1,15}$/.test(s.trim())) throw new EdgeflagError("ErrStorage", `stored highest version ${JSON.stringify(s.slice(0, 20))} is not a number`);
        this.highest = Math.max(this.highest, Number(s));
      }
    } catch (e) {
      this.report(e);
    }
  }

  async loadStored() {
    let rec;
    try {
      const s = await this.storage.get(this.prefix + this.mode);
      if (s === null) return;
      rec = JSON.parse(s);
    } catch (e) {
      this.report(new EdgeflagError("ErrStorage", `read the stored ${this.mode}: ${e.message}`, { cause: e }));
      return;
    }
    try {
      if (this.mode === "bundle") await this.accept(utf8.encode(String(rec.bundle)), "storage", rec.etag ?? null);
      else await this.acceptValues(String(rec.values), "storage", rec.etag ?? null);
    } catch (e) {
      this.stats.refused++;
      this.report(new EdgeflagError(e.code ?? "ErrStorage", `the stored ${this.mode} was refused: ${e.message}`, { cause: e }));
    }
  }

  // accept verifies and opens a bundle; persists it unless it came from
  // storage; raises the highest version; tells the listeners.
  async accept(bytes, source, etag) {
    this.engine.setTrust(this.trust());
    const claims = this.engine.open(bytes, this.clock());
    const previous = this.version;
    this.claims = claims;
    this.etag = etag;
    this.source = source;
    // Values embedded by the page give way to a bundle at least as new.
    if (this.values && this.values.version <= claims.version) this.values = null;
    await this.raise(claims.version, source === "storage" ? null : { bundle: new TextDecoder().decode(bytes), etag });
    if (this.bundleInUse()) this.emit({ version: claims.version, previous, source });
  }

  async acceptValues(text, source, etag) {
    const v = await verifyValues(text, this.valuesOpts());
    const previous = this.version;
    this.values = v;
    this.valuesText = text;
    this.etag = etag;
    this.source = source;
    await this.raise(v.version, source === "storage" ? null : { values: text, etag });
    this.emit({ version: v.version, previous, source });
  }

  // raise persists the record (first) and the highest version (then): a
  // process killed between the two leaves a newer bundle and an older
  // highest version, which the next start accepts and raises.
  async raise(version, record) {
    if (version > this.highest) this.highest = version;
    try {
      if (record) await this.storage.set(this.prefix + this.mode, JSON.stringify(record));
      await this.storage.set(this.prefix + "highest", String(this.highest));
    } catch (e) {
      this.report(e);
    }
  }

  emit(change) {
    this.stats.updates++;
    for (const fn of this.listeners) {
      try {
        fn(change);
      } catch (e) {
        this.report(e);
      }
    }
  }

  /** onChange calls fn({version, previous, source}) whenever what is evaluated changes; returns the unsubscribe function. */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async auth(force) {
    if (this.opts.apiKey !== undefined) return { "X-API-Key": this.opts.apiKey };
    if (force || this.tokenValue === undefined) {
      if (!this.opts.getToken) return { Authorization: `Bearer ${this.tokenValue}` };
      const t = await this.opts.getToken();
      if (typeof t !== "string" || !t) throw new EdgeflagError("ErrArgument", "getToken must resolve to a token string");
      this.tokenValue = t;
    }
    return { Authorization: `Bearer ${this.tokenValue}` };
  }

  // request sends one request with the credential; a 401 with getToken
  // gets a fresh token and one more try.
  async request(url, { stream = false, ...init } = {}) {
    const send = async (force) => {
      const headers = { ...(init.headers ?? {}), ...(await this.auth(force)) };
      // A request that hangs must not hold the client (or close) forever;
      // the stream has no timeout (it is meant to stay open).
      let signal = init.signal ?? this.aborter.signal;
      if (!stream && this.timeoutMs > 0 && AbortSignal.timeout && AbortSignal.any) {
        signal = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
      }
      try {
        return await this.fetch(url, { ...init, headers, signal, cache: "no-store" });
      } catch (e) {
        throw new EdgeflagError("ErrFetch", `${init.method ?? "GET"} ${url.pathname}: ${e.message}`, { cause: e });
      }
    };
    let res = await send(false);
    if (res.status === 401 && this.opts.getToken) {
      await res.body?.cancel().catch(() => {});
      res = await send(true);
    }
    return res;
  }

  /**
   * refresh fetches the bootstrap once (If-None-Match: what is in use) and
   * uses what verifies. Resolves to true when something new is in use.
   * Concurrent calls share one request (and one more after it).
   */
  refresh() {
    if (this.refreshing) {
      this.refreshAgain ??= this.refreshing.catch(() => {}).then(() => {
        this.refreshAgain = null;
        return this.refresh();
      });
      return this.refreshAgain;
    }
    this.refreshing = this.fetchBootstrap().finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  async fetchBootstrap() {
    if (this.closed) return false;
    const url = new URL(this.bootstrapUrl);
    if (this.mode === "values") url.searchParams.set("mode", "values");
    const headers = { Accept: "application/jose" };
    if (this.etag && this.verified() && this.etagStillUsable()) headers["If-None-Match"] = this.etag;
    const res = await this.request(url, { headers });
    this.stats.fetches++;
    if (res.status === 304) {
      this.stats.notModified++;
      return false;
    }
    if (res.status !== 200) {
      const body = await res.text().catch(() => "");
      let msg = body.slice(0, 300);
      try {
        msg = JSON.parse(body).message ?? msg;
      } catch {
        // not JSON: the text as is
      }
      const e = new EdgeflagError("ErrHTTP", `GET ${url.pathname}: HTTP ${res.status}: ${msg}`);
      e.status = res.status;
      throw e;
    }
    if (Number(res.headers.get("content-length")) > MAX_BODY) throw new EdgeflagError("ErrTooLarge", `GET ${url.pathname}: over ${MAX_BODY} bytes`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > MAX_BODY) throw new EdgeflagError("ErrTooLarge", `GET ${url.pathname}: over ${MAX_BODY} bytes`);
    const etag = res.headers.get("etag");
    try {
      if (this.mode === "bundle") await this.accept(bytes, "network", etag);
      else await this.acceptValues(new TextDecoder().decode(bytes), "network", etag);
    } catch (e) {
      this.stats.refused++;
      throw e;
    }
    return true;
  }

  // Values expire with their token (at most an hour): close to expiry a
  // 304 would keep the old expiry, so ask for a fresh document instead.
  etagStillUsable() {
    if (this.mode !== "values" || !this.values) return true;
    return this.values.expiresAt.getTime() - this.clock() > 2 * Math.max(this.refreshMs, 60000);
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const entry = {};
      const t = setTimeout(() => {
        this.sleeps.delete(entry);
        resolve();
      }, ms);
      t.unref?.();
      entry.done = () => {
        clearTimeout(t);
        this.sleeps.delete(entry);
        resolve();
      };
      this.sleeps.add(entry);
    });
  }

  // follow keeps what is in use current: the change stream while edgefn
  // offers it (a 404, 405 or 501 means it does not: Lambda), otherwise
  // polling every refreshSeconds.
  async follow() {
    let backoff = 1000;
    while (!this.closed) {
      if (this.streamUrl && !this.streamUnsupported) {
        let r;
        try {
          r = await this.streamOnce();
        } catch (e) {
          if (this.closed) return;
          this.report(e);
          r = "failed";
        }
        if (this.closed) return;
        if (r === "unsupported") {
          this.streamUnsupported = true;
          continue;
        }
        if (r === "ended") backoff = 1000;
        await this.refresh().catch((e) => this.report(e));
        await this.sleep(backoff);
        backoff = Math.min(2 * backoff, 30000);
        continue;
      }
      if (!(this.refreshMs > 0)) return;
      await this.sleep(this.refreshMs);
      if (this.closed) return;
      await this.refresh().catch((e) => this.report(e));
    }
  }

  async streamOnce() {
    const res = await this.request(this.streamUrl, { headers: { Accept: "text/event-stream" }, stream: true });
    if (res.status === 404 || res.status === 405 || res.status === 501) {
      await res.body?.cancel().catch(() => {});
      return "unsupported";
    }
    const type = res.headers.get("content-type") ?? "";
    if (res.status !== 200 || !type.startsWith("text/event-stream")) {
      await res.body?.cancel().catch(() => {});
      const e = new EdgeflagError("ErrHTTP", `GET ${this.streamUrl.pathname}: HTTP ${res.status} (${type})`);
      e.status = res.status;
      throw e;
    }
    this.streaming = true;
    try {
      await readEvents(res.body, (ev) => this.onStreamEvent(ev));
    } finally {
      this.streaming = false;
    }
    return "ended";
  }

  onStreamEvent(ev) {
    this.stats.streamEvents++;
    let d;
    try {
      d = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (d?.type !== "refetchEvaluation") return;
    if (d.etag && d.etag === this.etag && this.verified()) return;
    this.refresh().catch((e) => this.report(e));
  }

  /**
   * evaluate evaluates one flag synchronously: with the verified bundle,
   * else the values in use, else a PROVIDER_NOT_READY result. context
   * defaults to the client's context; opts.type is the expected type
   * (boolean, string, number, object), opts.now the time, opts.expose
   * false sends no exposure. Never throws: errors are results.
   */
  evaluate(flagKey, context, opts = {}) {
    const ctx = context ?? this.context;
    let r;
    if (this.bundleInUse()) {
      try {
        r = JSON.parse(this.engine.evaluateJSON(flagKey, ctx, opts.now ?? this.clock(), opts.type));
      } catch (e) {
        r = errorResult(flagKey, e, this.claims.version);
      }
    } else if (this.values) {
      r = this.values.evaluate(flagKey, opts.type);
    } else {
      r = notReady(flagKey);
    }
    if (opts.expose !== false) this.expose(r, ctx, opts.now);
    return r;
  }

  /** evaluateAll evaluates every flag (key order); it sends no exposures. */
  evaluateAll(context, opts = {}) {
    if (this.bundleInUse()) {
      try {
        return JSON.parse(this.engine.evaluateAllJSON(context ?? this.context, opts.now ?? this.clock()));
      } catch (e) {
        this.report(e);
        return [];
      }
    }
    return this.values ? this.values.evaluateAll() : [];
  }

  expose(r, ctx, now) {
    if (this.exposures === false || this.exposures === "none" || r.errorCode && r.errorCode !== "TARGETING_KEY_MISSING") return;
    if (this.exposures === "split" && r.reason !== "SPLIT") return;
    const unit = this.opts.apiKey !== undefined ? ctx?.targetingKey : "";
    if (this.opts.apiKey !== undefined && typeof unit !== "string") return;
    const id = `${r.key}\u0000${r.variant}\u0000${unit}`;
    if (this.exposed.has(id)) return;
    if (this.exposed.size >= 10000) this.exposed.clear();
    this.exposed.add(id);
    const ev = { id: eventId(), type: "exposure", flagKey: r.key, variant: r.variant, timestamp: this.iso(now) };
    if (unit) ev.unit = unit;
    this.events.push(ev);
  }

  iso(now) {
    const ms = now instanceof Date ? now.getTime() : typeof now === "number" ? now : this.clock();
    return new Date(ms).toISOString();
  }

  /**
   * track queues an event for /v1/track: type conversion by default
   * (custom otherwise), with an optional numeric value and attributes
   * (strings, numbers, booleans). With an API key the unit is
   * context.targetingKey.
   */
  track(name, { value, attributes, type = "conversion", context } = {}) {
    if (typeof name !== "string" || name === "") throw new EdgeflagError("ErrArgument", "track: want an event name");
    const ev = { id: eventId(), type, name, timestamp: this.iso() };
    if (value !== undefined) ev.value = value;
    if (attributes && Object.keys(attributes).length) ev.attributes = attributes;
    if (this.opts.apiKey !== undefined) {
      const unit = (context ?? this.context)?.targetingKey;
      if (typeof unit !== "string" || !unit) throw new EdgeflagError("ErrArgument", "track: with an API key the context needs a targetingKey (the unit)");
      ev.unit = unit;
    }
    this.events.push(ev);
    return ev.id;
  }

  async sendTrack(body, { keepalive }) {
    return this.request(this.trackUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body, keepalive,
      signal: keepalive ? undefined : this.aborter.signal });
  }

  /** flush sends the queued events now. */
  flush() {
    return this.events.flush();
  }

  installPageHooks() {
    const doc = globalThis.document;
    if (!doc || typeof globalThis.addEventListener !== "function") return;
    const hidden = () => {
      if (doc.visibilityState === "hidden") this.events.flush({ keepalive: true }).catch(() => {});
    };
    const pagehide = () => this.events.flush({ keepalive: true }).catch(() => {});
    doc.addEventListener("visibilitychange", hidden);
    globalThis.addEventListener("pagehide", pagehide);
    this.removePageHooks = () => {
      doc.removeEventListener("visibilitychange", hidden);
      globalThis.removeEventListener("pagehide", pagehide);
    };
  }

  /**
   * close stops fetching and following, and sends the queued events once
   * more. Evaluations keep working with what is in use.
   */
  async close() {
    if (this.closed) return;
    await this.events.close();
    this.closed = true;
    this.aborter.abort();
    for (const s of [...this.sleeps]) s.done();
    this.removePageHooks?.();
    await this.following?.catch(() => {});
  }
}
