package ir

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics and accepts only canonical
// encodings: whatever it accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, b := range []*Bundle{codecF123(), codecF2Set(20), codecSegments(), codecFull(), {Audience: AudienceClient}} {
		data, err := Encode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	for _, tc := range codecForgedInputs() {
		f.Add(tc.data)
	}
	// Small limits make the limit paths reachable for the fuzzer.
	small := Limits{MaxStrings: 64, MaxStringLen: 64, MaxNodes: 64, MaxFlags: 8, MaxVariants: 16, MaxRules: 16, MaxKeys: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{{}, small} {
			b, err := Decode(data, lim)
			if err != nil {
				if b != nil {
					t.Fatalf("Decode returned a bundle with error %v", err)
				}
				continue
			}
			again, err := Encode(b)
			if err != nil {
				t.Fatalf("Decode accepted input that Encode rejects: %v", err)
			}
			if !bytes.Equal(again, data) {
				t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", data, again)
			}
		}
	})
}
