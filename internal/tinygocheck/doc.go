// Package tinygocheck proves that edgeflag's pure packages (bundle/eval,
// bundle/ir) and the klauspost zstd decoder build with TinyGo
// (-scheduler=none -panic=trap) and give the same results as the Go build.
//
// The proof module is ./guest, a wasip1 reactor. Its test, behind the
// build tag tinygocheck (it needs the TinyGo compiler), builds the guest
// with TinyGo and with the standard Go toolchain, runs both under wazero,
// and checks the whole golden corpus (bundle/conformance), an EvaluateAll
// differential against the native engine, and zstd frames of the corpus
// bundles and of a multi-block payload, intact and damaged. Run it with
// `make tinygo-check`, which installs TinyGo through .ci/tinygo.sh.
//
// The package has no non-test code: it is a test harness only.
package tinygocheck
