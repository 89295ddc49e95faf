package envelope

import (
	"slices"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// allowedImports is the verifier's purity fence: a TinyGo-clean subset of
// the standard library plus a zstd decoder (klauspost's, or edgeflag's own
// in bundle/internal/zstd, per build), the IR, the engine and the JSON
// scanner (internal/jsonscan, under the engine's fence). No
// JOSE library, no encoding/json or other reflection-based decoding, no
// fmt, no IO.
var allowedImports = map[string]bool{
	"bytes": true, "crypto/ecdsa": true, "crypto/ed25519": true, "crypto/elliptic": true,
	"crypto/sha256": true, "encoding/base64": true, "errors": true, "math/big": true,
	"strconv": true, "time": true, "unicode/utf16": true, "unicode/utf8": true,
	"github.com/klauspost/compress/zstd":                   true,
	"github.com/edgeflag/edgeflag/bundle/internal/zstd":    true,
	"github.com/edgeflag/edgeflag/bundle/internal/sha2":    true,
	"github.com/edgeflag/edgeflag/bundle/internal/ed25519": true,
	"github.com/edgeflag/edgeflag/bundle/ir":               true,
	"github.com/edgeflag/edgeflag/bundle/eval":             true,
	"github.com/edgeflag/edgeflag/internal/jsonscan":       true,
}

// ownedImports: each zstd decoder and each Ed25519/SHA-256 implementation
// is imported by its own file only, so that a build links one of each:
// the standard ones, or (tags tinygo, edgeflag_small) edgeflag's small ones.
// crypto/sha256 is also es256.go's (ES256 builds only).
var ownedImports = map[string][]string{
	"github.com/klauspost/compress/zstd":                {"zstd_klauspost.go"},
	"github.com/edgeflag/edgeflag/bundle/internal/zstd": {"zstd_small.go"},
	"crypto/ed25519": {"crypto_std.go"},
	"crypto/sha256":  {"crypto_std.go", "es256.go"},
	"github.com/edgeflag/edgeflag/bundle/internal/ed25519": {"crypto_small.go"},
	"github.com/edgeflag/edgeflag/bundle/internal/sha2":    {"crypto_small.go"},
}

// es256Only are imports only es256.go may use, so that a build with the
// tag edgeflag_noes256 leaves ECDSA out entirely.
var es256Only = []string{"crypto/ecdsa", "crypto/elliptic", "math/big"}

func TestPurityFence(t *testing.T) {
	for file, imports := range fence.Check(t, ".", allowedImports) {
		for _, p := range imports {
			if owners, ok := ownedImports[p]; ok && !slices.Contains(owners, file) {
				t.Errorf("%s imports %s, which only %v may use", file, p, owners)
			}
		}
		if file == "es256.go" {
			continue
		}
		for _, p := range imports {
			if slices.Contains(es256Only, p) {
				t.Errorf("%s imports %s, which only es256.go may use", file, p)
			}
		}
	}
}

// TestBuildWasip1 checks that the verifier compiles for the wasm guest's
// target, with and without ES256.
func TestBuildWasip1(t *testing.T) {
	fence.BuildWasip1(t, "", ".")
	fence.BuildWasip1(t, "edgeflag_noes256", ".")
	fence.BuildWasip1(t, "edgeflag_noes256,edgeflag_small", ".")
}
