// The WASI preview 1 imports the edgeflag module needs (docs/wasm-abi.md §1),
// and nothing more: the Go runtime inside asks for a clock, random bytes,
// stdout/stderr and exit; it has no files, arguments or environment.
// Nothing the module computes depends on the clock or the random bytes
// (evaluation and verification times are arguments).

const EBADF = 8;
const EINVAL = 28;

/** The error a call throws when the module exits (a trap: the Go runtime
 * calls proc_exit after a fatal error such as memory exhausted). */
export class ModuleExit extends Error {
  constructor(code) {
    super(`the module exited with code ${code}`);
    this.name = "ModuleExit";
    this.exitCode = code;
  }
}

/**
 * wasiImports returns the `wasi_snapshot_preview1` import object for one
 * instance. memory() returns the instance's memory (set after
 * instantiation); log(text) receives what the module writes to fd 1 and 2
 * (only ever the Go runtime's fatal messages).
 */
export function wasiImports(memory, log) {
  const view = () => new DataView(memory().buffer);
  const decoder = new TextDecoder();
  const zeroPair = (a, b) => {
    const dv = view();
    dv.setUint32(a, 0, true);
    dv.setUint32(b, 0, true);
    return 0;
  };
  const imports = {
    args_sizes_get: zeroPair,
    environ_sizes_get: zeroPair,
    args_get: () => 0,
    environ_get: () => 0,
    clock_time_get: (_id, _precision, out) => {
      view().setBigUint64(out, BigInt(Date.now()) * 1000000n, true);
      return 0;
    },
    random_get: (ptr, len) => {
      // getRandomValues takes at most 65 536 bytes a call.
      for (let off = 0; off < len; off += 65536) {
        crypto.getRandomValues(new Uint8Array(memory().buffer, ptr + off, Math.min(65536, len - off)));
      }
      return 0;
    },
    fd_write: (fd, iovs, n, written) => {
      const dv = view();
      let total = 0;
      let text = "";
      for (let i = 0; i < n; i++) {
        const p = dv.getUint32(iovs + 8 * i, true);
        const len = dv.getUint32(iovs + 8 * i + 4, true);
        text += decoder.decode(new Uint8Array(memory().buffer, p, len));
        total += len;
      }
      if (fd !== 1 && fd !== 2) return EBADF;
      if (text && log) log(text);
      dv.setUint32(written, total, true);
      return 0;
    },
    proc_exit: (code) => {
      throw new ModuleExit(code);
    },
    sched_yield: () => 0,
    // The Go runtime sleeps (usleep) through poll_oneoff with one clock
    // subscription, and treats a failure as fatal: under collector
    // pressure (many opens of a large bundle) it does. A host cannot block,
    // so every clock subscription fires at once; anything else is EBADF.
    poll_oneoff: (subs, events, n, nevents) => {
      if (n === 0) return EINVAL; // WASI: no subscription, nothing to wait for
      const dv = view();
      for (let i = 0; i < n; i++) {
        const sub = subs + 48 * i;
        const ev = events + 32 * i;
        const tag = dv.getUint8(sub + 8);
        dv.setBigUint64(ev, dv.getBigUint64(sub, true), true); // userdata
        dv.setUint16(ev + 8, tag === 0 ? 0 : EBADF, true); // error
        dv.setUint8(ev + 10, tag); // type
        for (let j = 11; j < 32; j++) dv.setUint8(ev + j, 0);
      }
      dv.setUint32(nevents, n, true);
      return 0;
    },
  };
  for (const name of ["fd_close", "fd_read", "fd_fdstat_get", "fd_fdstat_set_flags",
    "fd_prestat_get", "fd_prestat_dir_name"]) {
    imports[name] = () => EBADF;
  }
  return imports;
}
