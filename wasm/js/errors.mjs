/**
 * EdgeflagError is every error the client reports. `code` is a stable
 * name: the module's error names (docs/wasm-abi.md §4: ErrSignature,
 * ErrExpired, ErrRollback, ErrContext, ...), ErrTrap when the module
 * trapped (its instance is rebuilt), or one of the client's own
 * (ErrFetch, ErrHTTP, ErrStorage, ErrValues, ErrArgument, ErrClosed).
 */
export class EdgeflagError extends Error {
  constructor(code, message, options) {
    super(`${code}: ${message}`, options);
    this.name = "EdgeflagError";
    this.code = code;
  }
}
