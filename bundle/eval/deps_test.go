package eval

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// allowedImports is the engine's and the IR's purity fence (see package
// fence): pure computation that must build for wasip1 and TinyGo.
var allowedImports = map[string]bool{
	"bytes": true, "crypto/sha256": true, "errors": true, "math": true, "math/bits": true,
	"regexp": true, "slices": true, "sort": true, "strconv": true, "strings": true, "time": true,
	"unicode": true, "unicode/utf16": true, "unicode/utf8": true, "encoding/binary": true,
	"github.com/edgeflag/edgeflag/bundle/ir": true,
}

func TestPurityFence(t *testing.T) {
	for _, dir := range []string{".", "../ir"} {
		fence.Check(t, dir, allowedImports)
	}
}

// TestBuildWasip1 checks that the engine (and the IR) compile for
// GOOS=wasip1 GOARCH=wasm, the target of the wasm guest.
func TestBuildWasip1(t *testing.T) {
	fence.BuildWasip1(t, "", ".", "../ir")
}
