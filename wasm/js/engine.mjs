// One instance of the edgeflag module behind the ABI of docs/wasm-abi.md:
// compile (cached), instantiate, set trust, open, evaluate; a trapped
// instance is discarded and rebuilt with the same trust and bundle.

import { EdgeflagError } from "./errors.mjs";
import { toTime } from "./time.mjs";
import { ModuleExit, wasiImports } from "./wasi.mjs";

/**
 * The modules tried, in order, when the caller names none: the first that
 * loads is used. The TinyGo build (193 KB gzip) goes first, the Go build
 * (1.3 MB) where it is not shipped; both give the same results.
 */
export const DEFAULT_MODULES = Object.freeze([
  new URL("../dist/edgeflag.tiny.wasm", import.meta.url).href,
  new URL("../dist/edgeflag.wasm", import.meta.url).href,
]);

const ABI_VERSION = 1;
const TYPE_CODES = { boolean: 1, string: 2, number: 3, object: 4 };
const utf8 = new TextEncoder();
const text = new TextDecoder();

const compiled = new Map(); // href -> Promise<WebAssembly.Module>

async function readFileURL(href) {
  const { readFile } = await import("node:fs/promises");
  return readFile(new URL(href));
}

async function compileURL(href, fetchFn) {
  if (href.startsWith("file:")) {
    let bytes;
    try {
      bytes = await readFileURL(href);
    } catch (e) {
      throw new EdgeflagError("ErrFetch", `read module ${href}: ${e.message}`, { cause: e });
    }
    return WebAssembly.compile(bytes);
  }
  let res;
  try {
    res = await (fetchFn ?? fetch)(href);
  } catch (e) {
    throw new EdgeflagError("ErrFetch", `fetch module ${href}: ${e.message}`, { cause: e });
  }
  if (!res.ok) throw new EdgeflagError("ErrFetch", `fetch module ${href}: HTTP ${res.status}`);
  const type = res.headers.get("content-type") ?? "";
  if (typeof WebAssembly.compileStreaming === "function" && type.split(";")[0].trim() === "application/wasm") {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

/**
 * loadModule compiles (once per URL) the module named by source: a
 * WebAssembly.Module (used as is: runtimes such as Cloudflare Workers
 * allow no compiling from bytes), bytes (Uint8Array, ArrayBuffer), a URL
 * or URL string (file: URLs are read from disk in Node), a list of those
 * (the first that loads), or undefined for DEFAULT_MODULES.
 */
export async function loadModule(source, { fetch: fetchFn } = {}) {
  source = await source;
  if (source === undefined || source === null) source = DEFAULT_MODULES;
  if (source instanceof WebAssembly.Module) return source;
  if (Array.isArray(source)) {
    const errors = [];
    for (const s of source) {
      try {
        return await loadModule(s, { fetch: fetchFn });
      } catch (e) {
        errors.push(e.message);
      }
    }
    throw new EdgeflagError("ErrFetch", `no module could be loaded: ${errors.join("; ")}`);
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    try {
      return await WebAssembly.compile(source);
    } catch (e) {
      throw new EdgeflagError("ErrModule", `compile module: ${e.message}`, { cause: e });
    }
  }
  if (source instanceof URL || typeof source === "string") {
    const href = new URL(String(source), globalThis.location?.href).href;
    let p = compiled.get(href);
    if (!p) {
      p = compileURL(href, fetchFn);
      compiled.set(href, p);
      p.catch(() => compiled.delete(href));
    }
    return p;
  }
  throw new EdgeflagError("ErrArgument", "wasm: want a URL, bytes or a WebAssembly.Module");
}

/** typeCode maps an expected flag type name to the ABI's code. */
function typeCode(type) {
  if (type === undefined || type === null || type === "") return 0;
  const c = TYPE_CODES[type];
  if (!c) throw new EdgeflagError("ErrArgument", `type: want boolean, string, number or object, not ${JSON.stringify(type)}`);
  return c;
}

function contextJSON(context) {
  if (context === undefined || context === null) return "";
  try {
    return JSON.stringify(context);
  } catch (e) {
    throw new EdgeflagError("ErrContext", `context cannot be written as JSON: ${e.message}`, { cause: e });
  }
}

// Instance: one module instance and its ABI calls. An error result is an
// EdgeflagError; anything else thrown out of a call is a trap.
class Instance {
  constructor(instance) {
    const ef = instance.exports;
    this.ef = ef;
    this.memory = ef.memory;
    this.scratch = 0; // a reused input block for keys and contexts
    this.scratchSize = 0;
  }

  static imports(state) {
    return { wasi_snapshot_preview1: wasiImports(() => state.memory, state.log) };
  }

  init() {
    this.ef._initialize();
    const v = this.ef.ef_abi_version();
    if (v !== ABI_VERSION) throw new EdgeflagError("ErrModule", `the module speaks ABI ${v}, this client ${ABI_VERSION}`);
  }

  result(n) {
    const len = n < 0 ? -n : n;
    const ptr = this.ef.ef_result() >>> 0;
    const s = text.decode(new Uint8Array(this.memory.buffer, ptr, len));
    if (n < 0) {
      let e;
      try {
        e = JSON.parse(s);
      } catch {
        e = { error: "ErrInternal", message: s };
      }
      throw new EdgeflagError(e.error, e.message);
    }
    return s;
  }

  // block copies bytes into a new block: [ptr, len]; the caller frees ptr.
  block(bytes) {
    if (bytes.length === 0) return [0, 0];
    const ptr = this.ef.ef_alloc(bytes.length) >>> 0;
    if (ptr === 0) throw new EdgeflagError("ErrTooLarge", `the module refused a ${bytes.length}-byte input`);
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  withBlock(bytes, fn) {
    const [ptr, len] = this.block(bytes);
    try {
      return fn(ptr, len);
    } finally {
      if (ptr) this.ef.ef_free(ptr);
    }
  }

  // ensure makes the scratch block hold at least size bytes.
  ensure(size) {
    if (size <= this.scratchSize) return;
    let n = Math.max(256, this.scratchSize);
    while (n < size) n *= 2;
    if (this.scratch) this.ef.ef_free(this.scratch);
    this.scratch = 0;
    this.scratchSize = 0;
    const ptr = this.ef.ef_alloc(n) >>> 0;
    if (ptr === 0) throw new EdgeflagError("ErrTooLarge", `the module refused a ${n}-byte input`);
    this.scratch = ptr;
    this.scratchSize = n;
  }

  // put writes strings one after another into the scratch block and
  // returns their [ptr, len] pairs (UTF-8).
  put(a, b) {
    this.ensure(3 * (a.length + b.length) + 2);
    const mem = new Uint8Array(this.memory.buffer, this.scratch, this.scratchSize);
    const ra = utf8.encodeInto(a, mem);
    const rb = utf8.encodeInto(b, mem.subarray(ra.written));
    return [ra.written ? this.scratch : 0, ra.written, rb.written ? this.scratch + ra.written : 0, rb.written];
  }

  setTrust(doc) {
    return this.withBlock(utf8.encode(doc), (p, n) => this.result(this.ef.ef_set_trust(p, n)));
  }

  open(bytes, t) {
    this.opened = true;
    try {
      return this.withBlock(bytes, (p, n) => this.result(this.ef.ef_open(p, n, t.sec, t.nsec)));
    } finally {
      this.openedSize ||= this.memory.buffer.byteLength;
    }
  }

  /** spent: the memory grew by half since the first open (Engine.open). */
  spent() {
    return this.opened && this.memory.buffer.byteLength > this.openedSize * 1.5;
  }

  evaluate(key, ctx, type, t) {
    const [kp, kn, cp, cn] = this.put(key, ctx);
    return this.result(this.ef.ef_evaluate(kp, kn, cp, cn, type, t.sec, t.nsec));
  }

  evaluateAll(ctx, t) {
    const [, , cp, cn] = this.put("", ctx);
    return this.result(this.ef.ef_evaluate_all(cp, cn, t.sec, t.nsec));
  }
}

/**
 * Engine owns one instance at a time. It remembers the trust and the open
 * bundle so that after a trap — any exception out of a module call other
 * than an error result — it discards the instance and builds a new one in
 * the same state before the next call.
 */
export class Engine {
  /** create compiles nothing: module is a WebAssembly.Module. */
  static async create(module, { log } = {}) {
    const e = new Engine(module, log);
    e.adopt(await WebAssembly.instantiate(module, Instance.imports(e.state)));
    return e;
  }

  constructor(module, log) {
    this.module = module;
    this.state = { memory: null, log: log ?? ((s) => globalThis.console?.error?.(s.trimEnd())) };
    this.inst = null;
    this.trust = null; // trust document in force (text)
    this.opened = null; // {trust, bytes, time}: what to replay after a trap
    /** instances counts instances built (1 + the rebuilds after traps). */
    this.instances = 0;
    /** traps counts the traps seen. */
    this.traps = 0;
    this.closed = false;
  }

  adopt(instance) {
    const state = this.state;
    const inst = new Instance(instance);
    state.memory = inst.memory;
    inst.init();
    this.inst = inst;
    this.instances++;
  }

  // fresh builds a new instance (synchronous: the module is compiled
  // already, and instantiating a compiled module is allowed on a browser's
  // main thread) without adopting it.
  fresh() {
    const state = { memory: null, log: this.state.log };
    const inst = new Instance(new WebAssembly.Instance(this.module, Instance.imports(state)));
    state.memory = inst.memory;
    inst.init();
    return { state, inst };
  }

  rebuild() {
    const state = { memory: null, log: this.state.log };
    this.state = state;
    this.adopt(new WebAssembly.Instance(this.module, Instance.imports(state)));
    if (this.opened) {
      this.inst.setTrust(this.opened.trust);
      this.inst.open(this.opened.bytes, this.opened.time);
    }
    if (this.trust !== null && (!this.opened || this.trust !== this.opened.trust)) this.inst.setTrust(this.trust);
  }

  call(what, fn) {
    if (this.closed) throw new EdgeflagError("ErrClosed", `${what}: the bundle was closed`);
    if (!this.inst) {
      try {
        this.rebuild();
      } catch (e) {
        this.inst = null;
        throw new EdgeflagError("ErrTrap", `rebuild the module instance: ${e.message}`, { cause: e });
      }
    }
    try {
      return fn(this.inst);
    } catch (e) {
      if (e instanceof EdgeflagError) throw e; // an error result: the instance is fine
      this.inst = null;
      this.traps++;
      const why = e instanceof ModuleExit ? e.message : `${e?.name ?? "Error"}: ${e?.message ?? e}`;
      throw new EdgeflagError("ErrTrap", `${what}: the module trapped (${why}); the instance is discarded and rebuilt`, { cause: e });
    }
  }

  /** setTrust sets the trust document (docs/wasm-abi.md §3.1) as an object. */
  setTrust(trust) {
    const doc = JSON.stringify(trust);
    const out = JSON.parse(this.call("set trust", (i) => i.setTrust(doc)));
    this.trust = doc;
    return out;
  }

  /**
   * open verifies and loads bytes at now; returns the verified claims. A
   * module's memory never shrinks, and the TinyGo module's collector,
   * which scans its data conservatively, kept part of every earlier bundle
   * alive in a long-lived instance. So an instance whose memory grew by
   * half since its first open gets no further bundle: a fresh instance
   * takes the trust in force and the bundle and is swapped in once the
   * bundle is accepted (a refused one changes nothing). The Go module's
   * memory settles after its second open; it keeps its instance.
   */
  open(bytes, now) {
    if (typeof bytes === "string") bytes = utf8.encode(bytes);
    if (!(bytes instanceof Uint8Array)) throw new EdgeflagError("ErrArgument", "bundle: want a Uint8Array");
    const time = toTime(now);
    let claims;
    if (!this.inst || !this.inst.spent()) {
      claims = JSON.parse(this.call("open", (i) => i.open(bytes, time)));
    } else {
      if (this.closed) throw new EdgeflagError("ErrClosed", "open: the bundle was closed");
      let next;
      try {
        next = this.fresh();
        if (this.trust !== null) next.inst.setTrust(this.trust);
        claims = JSON.parse(next.inst.open(bytes, time));
      } catch (e) {
        if (e instanceof EdgeflagError) throw e; // refused: the current instance serves on
        this.traps++;
        const why = e instanceof ModuleExit ? e.message : `${e?.name ?? "Error"}: ${e?.message ?? e}`;
        throw new EdgeflagError("ErrTrap", `open: the module trapped (${why}); the bundle in use stays`, { cause: e });
      }
      this.state = next.state;
      this.inst = next.inst;
      this.instances++;
    }
    this.opened = { trust: this.trust, bytes: bytes.slice(), time };
    return claims;
  }

  /** evaluateJSON returns the module's result text for one flag. */
  evaluateJSON(flagKey, context, now, type) {
    if (typeof flagKey !== "string") throw new EdgeflagError("ErrArgument", "flagKey: want a string");
    const ctx = contextJSON(context);
    const code = typeCode(type);
    const time = toTime(now);
    return this.call("evaluate", (i) => i.evaluate(flagKey, ctx, code, time));
  }

  /** evaluateAllJSON returns the module's result text for every flag. */
  evaluateAllJSON(context, now) {
    const ctx = contextJSON(context);
    const time = toTime(now);
    return this.call("evaluate all", (i) => i.evaluateAll(ctx, time));
  }

  /** callExport calls any export through the trap handling (tests call the test build's ef_test_trap). */
  callExport(name, ...args) {
    return this.call(name, (i) => {
      if (typeof i.ef[name] !== "function") throw new EdgeflagError("ErrArgument", `the module exports no ${name}`);
      return i.ef[name](...args);
    });
  }

  /** close drops the instance (its memory goes with it). */
  close() {
    this.closed = true;
    this.inst = null;
    this.opened = null;
    this.module = null;
  }
}
