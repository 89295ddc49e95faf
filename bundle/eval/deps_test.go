package eval

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// allowedImports is the engine's, the IR's and their JSON scanner's
// (internal/jsonscan) purity fence (see package fence): pure computation
// that must build for wasip1 and TinyGo.
var allowedImports = map[string]bool{
	"bytes": true, "crypto/sha256": true, "errors": true, "math": true, "math/bits": true,
	"regexp": true, "slices": true, "sort": true, "strconv": true, "strings": true, "time": true,
	"unicode": true, "unicode/utf16": true, "unicode/utf8": true, "encoding/binary": true,
	"github.com/edgeflag/edgeflag/bundle/ir":            true,
	"github.com/edgeflag/edgeflag/bundle/internal/sha2": true,
	"github.com/edgeflag/edgeflag/internal/jsonscan":    true,
}

func TestPurityFence(t *testing.T) {
	for _, dir := range []string{".", "../ir", "../../internal/jsonscan"} {
		for file, imports := range fence.Check(t, dir, allowedImports) {
			for _, p := range imports {
				// One SHA-256 per build: the standard one, or (tags tinygo,
				// edgeflag_small) edgeflag's, which leaves FIPS 140 out.
				if (p == "crypto/sha256" && file != "hash_std.go") || (p == "github.com/edgeflag/edgeflag/bundle/internal/sha2" && file != "hash_small.go") {
					t.Errorf("%s/%s imports %s", dir, file, p)
				}
			}
		}
	}
}

// TestBuildWasip1 checks that the engine, the IR and the scanner compile
// for GOOS=wasip1 GOARCH=wasm, the target of the wasm guest.
func TestBuildWasip1(t *testing.T) {
	fence.BuildWasip1(t, "", ".", "../ir", "../../internal/jsonscan")
}
