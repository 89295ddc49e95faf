package ir_test

// Decode and Validate of 10 000 flags: the peer benchmarks' F2 flag
// repeated (benchgen.Peer) and realistic flags that all differ
// (benchgen.Realistic), compiled by publisher/compile as the publisher
// does.

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// bundles10k returns the encodings of both 10 000-flag server sets.
func bundles10k(b *testing.B) []struct {
	name string
	data []byte
} {
	enc := benchgen.RealisticEncoded(b, 10000, ir.AudienceServer)
	return []struct {
		name string
		data []byte
	}{
		{"10k", benchgen.Encode(b, benchgen.Peer(false, 10000, "f2_%05d", false), ir.AudienceServer)},
		{"10kRealistic", enc},
	}
}

// BenchmarkDecodeSets measures ir.Decode of both sets.
func BenchmarkDecodeSets(b *testing.B) {
	for _, c := range bundles10k(b) {
		b.Run("Decode"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				if _, err := ir.Decode(c.data, ir.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
}

// BenchmarkValidate measures Bundle.Validate (which eval.Load runs) of
// both sets, decoded.
func BenchmarkValidate(b *testing.B) {
	for _, c := range bundles10k(b) {
		bd, err := ir.Decode(c.data, ir.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Validate"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := benchmetric.CPU()
			for b.Loop() {
				if err := bd.Validate(); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
}
