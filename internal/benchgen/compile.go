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
	encodedMu    sync.Mutex
	encodedCache = map[encodedKey][]byte{}
)

type encodedKey struct {
	n   int
	aud ir.Audience
}

// RealisticEncoded returns the encoding of Realistic(n) compiled for
// aud. Compiling 10 000 flags takes seconds, and benchmarks run their
// set-up once per -count, so encodings are cached for the life of the
// test binary; callers must not modify them. Only the bytes are kept: a
// cached Bundle would be a large pointer-rich live heap that the garbage
// collector scans during every benchmark, which a process loading a
// bundle does not have.
func RealisticEncoded(tb testing.TB, n int, aud ir.Audience) []byte {
	tb.Helper()
	encodedMu.Lock()
	defer encodedMu.Unlock()
	k := encodedKey{n, aud}
	if data, ok := encodedCache[k]; ok {
		return data
	}
	data := Encode(tb, Realistic(n).YAML, aud)
	encodedCache[k] = data
	return data
}

// RealisticBundle returns Realistic(n) and its bundle for aud, decoded
// from RealisticEncoded: the caller's to keep or change.
func RealisticBundle(tb testing.TB, n int, aud ir.Audience) (Set, *ir.Bundle) {
	tb.Helper()
	data := RealisticEncoded(tb, n, aud)
	b, err := ir.Decode(data, ir.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return Realistic(n), b
}
