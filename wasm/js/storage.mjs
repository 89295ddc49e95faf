// Where the client keeps the last verified bundle (or values) and the
// highest version it has accepted, across restarts. A storage is any
// object with async get(key) → string | null, set(key, string) and
// delete(key). What it returns is never trusted: the client re-verifies a
// stored bundle (signature, expiry with grace, version) before using it.

import { EdgeflagError } from "./errors.mjs";

/** memoryStorage keeps nothing across restarts (the default in Node). */
export function memoryStorage() {
  const m = new Map();
  return {
    kind: "memory",
    async get(k) { return m.has(k) ? m.get(k) : null; },
    async set(k, v) { m.set(k, String(v)); },
    async delete(k) { m.delete(k); },
  };
}

/** webStorage uses window.localStorage (the default in browsers), or another Storage. */
export function webStorage(ls = globalThis.localStorage) {
  if (!ls) throw new EdgeflagError("ErrStorage", "webStorage: no localStorage here");
  return {
    kind: "localStorage",
    async get(k) { return ls.getItem(k); },
    async set(k, v) {
      try {
        ls.setItem(k, String(v));
      } catch (e) {
        throw new EdgeflagError("ErrStorage", `localStorage: ${e.message} (quota: try indexedDBStorage for large bundles)`, { cause: e });
      }
    },
    async delete(k) { ls.removeItem(k); },
  };
}

/** indexedDBStorage keeps the values in an IndexedDB object store (no 5 MB quota). */
export function indexedDBStorage({ name = "edgeflag", store = "kv", indexedDB = globalThis.indexedDB } = {}) {
  if (!indexedDB) throw new EdgeflagError("ErrStorage", "indexedDBStorage: no IndexedDB here");
  let db;
  const open = () => db ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(store);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new EdgeflagError("ErrStorage", `open IndexedDB ${name}: ${req.error?.message}`));
  });
  const run = async (mode, fn) => {
    const d = await open();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(new EdgeflagError("ErrStorage", `IndexedDB ${name}: ${tx.error?.message}`));
    });
  };
  return {
    kind: "indexedDB",
    async get(k) { const v = await run("readonly", (s) => s.get(k)); return typeof v === "string" ? v : null; },
    async set(k, v) { await run("readwrite", (s) => s.put(String(v), k)); },
    async delete(k) { await run("readwrite", (s) => s.delete(k)); },
  };
}

const MAX_FILE = 64 << 20;

/**
 * fileStorage keeps each key in a file of dir (Node). Writes go to a
 * temporary file that is renamed over the old one, so a killed process
 * leaves the old file or the new one, never half of one; reads accept only
 * regular files (no symlink, FIFO or device) of at most 64 MiB.
 */
export function fileStorage(dir) {
  if (typeof dir !== "string" || dir === "") throw new EdgeflagError("ErrStorage", "fileStorage: want a directory path");
  const mods = Promise.all([import("node:fs/promises"), import("node:fs"), import("node:path")]);
  const file = async (k) => {
    const [, , path] = await mods;
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(k) || k.startsWith(".")) throw new EdgeflagError("ErrStorage", `fileStorage: key ${JSON.stringify(k)} is not a plain file name`);
    return path.join(dir, k);
  };
  return {
    kind: "file",
    dir,
    async get(k) {
      const [fsp, fs] = await mods;
      const p = await file(k);
      let h;
      try {
        h = await fsp.open(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      } catch (e) {
        if (e.code === "ENOENT") return null;
        throw new EdgeflagError("ErrStorage", `read ${p}: ${e.message}`, { cause: e });
      }
      try {
        const st = await h.stat();
        if (!st.isFile()) throw new EdgeflagError("ErrStorage", `read ${p}: not a regular file`);
        if (st.size > MAX_FILE) throw new EdgeflagError("ErrStorage", `read ${p}: ${st.size} bytes, over ${MAX_FILE}`);
        return await h.readFile("utf8");
      } finally {
        await h.close();
      }
    },
    async set(k, v) {
      const [fsp] = await mods;
      const p = await file(k);
      const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
      try {
        await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
        const h = await fsp.open(tmp, "wx", 0o600);
        try {
          await h.writeFile(String(v), "utf8");
          await h.sync();
        } finally {
          await h.close();
        }
        await fsp.rename(tmp, p);
      } catch (e) {
        await fsp.rm(tmp, { force: true }).catch(() => {});
        throw new EdgeflagError("ErrStorage", `write ${p}: ${e.message}`, { cause: e });
      }
    },
    async delete(k) {
      const [fsp] = await mods;
      await fsp.rm(await file(k), { force: true });
    },
  };
}

/**
 * resolveStorage picks the storage for createClient's storage option: an
 * object is used as is, a string is a fileStorage directory, null or false
 * is memoryStorage, undefined is localStorage where there is one, else
 * memoryStorage.
 */
export function resolveStorage(s) {
  if (s && typeof s === "object") return s;
  if (typeof s === "string") return fileStorage(s);
  if (s === undefined) {
    try {
      if (globalThis.localStorage) return webStorage(globalThis.localStorage);
    } catch {
      // localStorage throws in some sandboxed frames: fall through.
    }
  }
  return memoryStorage();
}
