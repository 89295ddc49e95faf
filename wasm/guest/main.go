// Command guest is edgeflag's WebAssembly module: the engine (bundle/eval)
// and the verifier (bundle/envelope) behind a small ABI of exported
// functions, built as a wasip1 reactor (`make wasm` →
// wasm/dist/edgeflag.wasm). A host sets the trust (keys, project,
// environment, audience, grace, last version), opens a signed bundle — the
// module verifies it itself, with the same rejections as a native Go
// verifier — and evaluates flags; every result is JSON with exactly the
// fields and values `edgeflag eval` prints. The ABI is specified in
// docs/wasm-abi.md.
//
// The exports are thin (exports_wasm.go); everything they do is in
// portable code (instance, the arena, the JSON writer and the trust
// reader) so that it is unit-tested natively as well as through the module.
// The code avoids goroutines, reflection-based encoding and fmt so that the
// same source builds with TinyGo.
package main

// main is never called: a reactor's host calls _initialize, then the
// exports.
func main() {}
