package ir

import (
	"testing"

	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// BenchmarkParseJSON: an evaluation context (what the wasm guest hands to
// ParseJSON when a context nests) and an object variant value; Check is
// Validate's allocation-free mode on the same value.
func BenchmarkParseJSON(b *testing.B) {
	for _, c := range []struct{ name, doc string }{
		{"Context", `{"targetingKey":"user-123","email":"bob@other.org","user":{"plan":"pro","tags":["a","b"]},"age":42,"beta":true,"k\u00e9y":"v\n"}`},
		{"Variant", `{"title":"Spring sale","discount":0.15,"colors":["#ff0000","#00ff00"],"cta":{"text":"Shop now","url":"https:\/\/example.com\/sale"}}`},
	} {
		data := []byte(c.doc)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				if _, err := ParseJSON(data); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
		b.Run(c.name+"Check", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				if err := checkJSON(data, TypeObject); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
}
