package ir

import (
	"testing"
)

// codecUnshare returns a copy of b in which no two flags share a variant
// list, rule list or split slice (as a Builder-made bundle would be).
func codecUnshare(b *Bundle) *Bundle {
	c := *b
	c.Flags = make([]Flag, len(b.Flags))
	for i, f := range b.Flags {
		f.Variants = append([]Variant(nil), f.Variants...)
		f.Rules = append([]Rule(nil), f.Rules...)
		for r := range f.Rules {
			f.Rules[r].Serve.Split = append([]Weight(nil), f.Rules[r].Serve.Split...)
		}
		f.Default.Split = append([]Weight(nil), f.Default.Split...)
		c.Flags[i] = f
	}
	return &c
}

// FuzzDecodeValidateShared checks that sharing repeated sections changes
// nothing Validate can see: a decoded bundle (whose flags may share
// slices) and an unshared copy of it validate to the same result, error
// text included.
func FuzzDecodeValidateShared(f *testing.F) {
	for _, b := range []*Bundle{codecF123(), codecF2Set(4), codecVariedSet(3), validBundle()} {
		data, err := Encode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(data, Limits{})
		if err != nil {
			return
		}
		got, want := b.Validate(), codecUnshare(b).Validate()
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Fatalf("Validate of the decoded bundle: %v; of an unshared copy: %v", got, want)
		}
	})
}
