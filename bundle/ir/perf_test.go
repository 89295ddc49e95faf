package ir

import (
	"strconv"
	"strings"
	"testing"
)

// codecVariedSet builds n F2-like flags whose rules differ per flag (each
// its own email domain and age threshold, as the envelope's "varied"
// benchmark does), so no two flags have identical rule records. It keeps
// BenchmarkDecode's and BenchmarkValidate's figures honest about bundles
// whose flags do not repeat one another.
func codecVariedSet(n int) *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	for i := 0; i < n; i++ {
		k := strconv.Itoa(i)
		k = "f2_" + strings.Repeat("0", 5-len(k)) + k
		f := codecF2(b, k)
		f.Rules[0].When = b.Node(OpEndsWith, b.AttrNode("email"), b.Str("@"+k+".example.com"))
		f.Rules[2].When = b.Node(OpGe, b.AttrNode("age"), b.Num(float64(18+i%50)))
		b.Bundle.Flags = append(b.Bundle.Flags, f)
	}
	return b.Bundle
}

// BenchmarkDecodeVaried is BenchmarkDecode over codecVariedSet.
func BenchmarkDecodeVaried(b *testing.B) {
	data := codecEncodeT(b, codecVariedSet(10000))
	b.Run("Decode10k", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(data, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkValidate measures Bundle.Validate (which eval.Load runs) on
// decoded bundles of 10 000 flags: identical F2-like flags, and varied ones.
func BenchmarkValidate(b *testing.B) {
	for _, c := range []struct {
		name string
		set  func(int) *Bundle
	}{{"Validate10k", codecF2Set}, {"Validate10kVaried", codecVariedSet}} {
		bd, err := Decode(codecEncodeT(b, c.set(10000)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bd.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
