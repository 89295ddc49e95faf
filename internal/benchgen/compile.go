package benchgen

import (
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// Compile parses a generated file and builds environment production for
// aud, as the publisher does; any diagnostic error fails tb.
func Compile(tb testing.TB, yaml []byte, aud ir.Audience) *ir.Bundle {
	tb.Helper()
	doc, ds := config.Parse([]config.File{{Name: "flags.yaml", Data: yaml}})
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	b, ds := compile.Build(doc, Environment, aud)
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	return b
}

// Encode is Compile followed by ir.Encode: the payload a bundle carries.
func Encode(tb testing.TB, yaml []byte, aud ir.Audience) []byte {
	tb.Helper()
	data, err := ir.Encode(Compile(tb, yaml, aud))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

var (
	realisticMu    sync.Mutex
	realisticCache = map[realisticKey]realisticEntry{}
)

type realisticKey struct {
	n   int
	aud ir.Audience
}

type realisticEntry struct {
	set Set
	b   *ir.Bundle
}

// RealisticBundle returns Realistic(n) and its compiled bundle for aud.
// Compiling 10 000 flags takes seconds, and benchmarks run their set-up
// once per -count, so results are cached for the life of the test
// binary: callers must not modify the bundle.
func RealisticBundle(tb testing.TB, n int, aud ir.Audience) (Set, *ir.Bundle) {
	tb.Helper()
	realisticMu.Lock()
	defer realisticMu.Unlock()
	k := realisticKey{n, aud}
	if e, ok := realisticCache[k]; ok {
		return e.set, e.b
	}
	set := Realistic(n)
	b := Compile(tb, set.YAML, aud)
	realisticCache[k] = realisticEntry{set, b}
	return set, b
}
