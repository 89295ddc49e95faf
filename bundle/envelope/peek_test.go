package envelope

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPeek(t *testing.T) {
	good := sealTest(t)
	c, err := Peek(good)
	if err != nil {
		t.Fatal(err)
	}
	want := testClaims()
	want.Format, want.Algorithm, want.KeyID = FormatVersion, AlgEdDSA, testKid
	if c != want {
		t.Fatalf("Peek = %+v, want %+v", c, want)
	}
	// Peek reads the header only: a bad signature does not matter...
	bad := append([]byte{}, good...)
	bad[len(bad)-5] ^= 1
	if _, err := Peek(bad); err != nil {
		t.Fatalf("Peek checked the signature: %v", err)
	}
	// ...but the header is held to the same profile as Verify.
	comp := compressedTest(t)
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"duplicate kid":  {forge(strings.Replace(canonHdr, `"kid":"test-key-1"`, `"kid":"a","kid":"b"`, 1), comp, testKey()), ErrDuplicateKey},
		"unknown member": {forge(strings.Replace(canonHdr, `"fmt":1,`, `"fmt":1,"x5u":"u",`, 1), comp, testKey()), ErrUnknownField},
		"NUL after":      {forge(canonHdr+"\x00", comp, testKey()), ErrMalformed},
		"not JWS":        {[]byte("hello"), ErrMalformed},
		"newline":        {append(append([]byte{}, good...), '\n'), ErrMalformed},
	} {
		if _, err := Peek(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
		// Verify rejects with the same sentinel: one parser.
		if _, err := Verify(tc.data, testTrust()); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify got %v, want %v", name, err, tc.want)
		}
	}
}

func TestReadUnverified(t *testing.T) {
	good := sealTest(t)
	bad := append([]byte{}, good...)
	bad[len(bad)-5] ^= 1 // a signature nobody checks here
	u, err := ReadUnverified(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(u.Payload, testPayload) || u.Claims.Version != 7 {
		t.Fatalf("read %+v", u.Claims)
	}
	// The same decompressor: a bomb is refused before allocation.
	if _, err := ReadUnverified(signedRaw(t, rlePayload(1<<30, 8))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: got %v", err)
	}
}

func TestErrorName(t *testing.T) {
	names := map[string]bool{}
	for _, s := range sentinelNames() {
		if got := ErrorName(reject(s.err, "why")); got != s.name {
			t.Errorf("ErrorName(%v) = %q, want %q", s.err, got, s.name)
		}
		if ErrorByName(s.name) != s.err {
			t.Errorf("ErrorByName(%q) is not %v", s.name, s.err)
		}
		if names[s.name] {
			t.Errorf("name %q twice", s.name)
		}
		names[s.name] = true
	}
	if len(names) != len(allErrors) {
		t.Errorf("%d names for %d sentinels", len(names), len(allErrors))
	}
	if got := ErrorName(&RollbackError{Got: 1, Last: 2}); got != "ErrRollback" {
		t.Errorf("rollback: %q", got)
	}
	if got := ErrorName(errors.New("verify bundle: trust has no clock (Now)")); got != "" {
		t.Errorf("misuse named %q", got)
	}
	if ErrorByName("ErrNope") != nil {
		t.Error("unknown name resolved")
	}
}

// FuzzParseJWKS: ParseJWKS never panics, and what it accepts holds only
// well-formed keys whose ids are their thumbprints.
func FuzzParseJWKS(f *testing.F) {
	ed := edKey("", testKey())
	ed.ID = Thumbprint(ed)
	f.Add([]byte(`{"keys":[` + jwkJSON(ed) + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"k"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseJWKS(data)
		if err != nil {
			if !errors.Is(err, ErrJWKS) {
				t.Fatalf("error %v does not match ErrJWKS", err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("accepted an empty set")
		}
		for _, k := range keys {
			if err := k.check(); err != nil || k.ID != Thumbprint(k) {
				t.Fatalf("accepted a bad key %+v: %v", k, err)
			}
		}
	})
}
