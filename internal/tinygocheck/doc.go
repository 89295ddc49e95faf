// Package tinygocheck proves that edgeflag's pure packages — the verifier
// (bundle/envelope, with the klauspost zstd decoder), the IR codec
// (bundle/ir) and the engine (bundle/eval) — build with TinyGo
// (-scheduler=none -panic=trap) and give the same results as the Go build.
//
// The proof module is ./guest, a wasip1 reactor with a small internal ABI.
// Its test, behind the build tag tinygocheck (it needs the TinyGo
// compiler), builds the guest with TinyGo (with and without ES256, tag
// edgeflag_noes256) and with the standard Go toolchain, runs each under
// wazero and checks: the envelope vectors (bundle/conformance), the whole
// golden corpus on bundles sealed and opened with envelope.Open, an
// EvaluateAll differential against the native engine, envelope.Verify of a
// sealed 3 MiB multi-block payload (intact, over the limit, tampered), and
// the zstd decoder alone on intact and damaged frames. Run it with
// `make tinygo-check`, which installs TinyGo through .ci/tinygo.sh.
//
// The package has no non-test code: it is a test harness only.
package tinygocheck
