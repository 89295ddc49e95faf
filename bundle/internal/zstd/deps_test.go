package zstd

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// The decoder is pure computation over the standard library's smallest
// packages: nothing that brings fmt, reflection or IO into a module.
func TestPurityFence(t *testing.T) {
	fence.Check(t, ".", map[string]bool{"encoding/binary": true, "math/bits": true, "strconv": true})
}

func TestBuildWasip1(t *testing.T) {
	fence.BuildWasip1(t, "", ".")
}
