package envelope

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open. It must never panic, and since
// only the seeds are genuinely signed and the profile admits one encoding
// per envelope, anything it accepts must be one of the signed seeds and
// must open again with the same claims and verify with go-jose.
func FuzzOpen(f *testing.F) {
	signed := [][]byte{sealTestBundle(f), sealTest(f)}
	for _, s := range signed {
		f.Add(s)
	}
	f.Add(signedRaw(f, rlePayload(1<<30, 4)))
	f.Add(forge(canonHdr, compressedTest(f), testKey()))
	f.Add([]byte("e30.e30.e30"))
	f.Add([]byte(""))
	tr := testTrust()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Open(data, tr)
		v, verr := Verify(data, tr)
		if (verr == nil) != (v != nil) {
			t.Fatalf("Verify returned %v and %v", v, verr)
		}
		if err != nil {
			return
		}
		if verr != nil {
			t.Fatalf("Open accepted what Verify rejects: %v", verr)
		}
		known := false
		for _, s := range signed {
			known = known || bytes.Equal(s, data)
		}
		if !known {
			t.Fatalf("accepted an envelope that was never signed: %q", data)
		}
		if _, err := joseVerify(data, testKey().Public(), AlgEdDSA); err != nil {
			t.Fatalf("accepted an envelope go-jose rejects: %v", err)
		}
		again, err := Open(data, tr)
		if err != nil || again.Claims != b.Claims {
			t.Fatalf("re-open: %v", err)
		}
	})
}
