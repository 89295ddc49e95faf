package envelope

import (
	"testing"

	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// BenchmarkPeek reads a sealed bundle's protected header (the strict JSON
// header parser, no signature check).
func BenchmarkPeek(b *testing.B) {
	data := sealTestBundle(b)
	b.ReportAllocs()
	cpu := benchmetric.CPU()
	for b.Loop() {
		if _, err := Peek(data); err != nil {
			b.Fatal(err)
		}
	}
	benchmetric.ReportCPU(b, cpu)
}

// BenchmarkParseJWKS parses a JWKS of one Ed25519 key.
func BenchmarkParseJWKS(b *testing.B) {
	ed := edKey("", testKey())
	ed.ID = Thumbprint(ed)
	data := []byte(`{"keys":[` + jwkJSON(ed) + `]}`)
	b.ReportAllocs()
	cpu := benchmetric.CPU()
	for b.Loop() {
		if _, err := ParseJWKS(data); err != nil {
			b.Fatal(err)
		}
	}
	benchmetric.ReportCPU(b, cpu)
}
