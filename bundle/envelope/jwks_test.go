package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// jwk renders a public JWK the way `edgeflag keygen` writes it.
func jwkJSON(k Key) string {
	enc := base64.RawURLEncoding
	switch k.Algorithm {
	case AlgEdDSA:
		return `{"use":"sig","kty":"OKP","kid":"` + k.ID + `","crv":"Ed25519","alg":"EdDSA","x":"` + enc.EncodeToString(k.Public) + `"}`
	default:
		return `{"use":"sig","kty":"EC","kid":"` + k.ID + `","crv":"P-256","alg":"ES256","x":"` +
			enc.EncodeToString(k.Public[1:33]) + `","y":"` + enc.EncodeToString(k.Public[33:]) + `"}`
	}
}

func testKeys(t *testing.T) (ed, ec Key) {
	ed = edKey("", testKey())
	ed.ID = Thumbprint(ed)
	p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec = ecKey(t, "", p)
	ec.ID = Thumbprint(ec)
	return ed, ec
}

// TestThumbprintMatchesGoJose checks the RFC 7638 thumbprint against
// go-jose's, the independent reference.
func TestThumbprintMatchesGoJose(t *testing.T) {
	for i := 0; i < 20; i++ {
		ed, ec := testKeys(t)
		pubs := map[string]crypto.PublicKey{}
		pubs[ed.ID] = ed25519.PublicKey(ed.Public)
		ek, _ := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), ec.Public)
		pubs[ec.ID] = ek
		for kid, pub := range pubs {
			tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); kid != want {
				t.Fatalf("thumbprint %s, go-jose says %s", kid, want)
			}
		}
	}
	if Thumbprint(Key{Algorithm: "RS256", Public: []byte{1}}) != "" {
		t.Fatal("thumbprint of an unsupported key")
	}
}

func TestParseJWKS(t *testing.T) {
	ed, ec := testKeys(t)
	keys, err := ParseJWKS([]byte("\n{\"keys\": [" + jwkJSON(ed) + ",\n" + jwkJSON(ec) + "]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != ed.ID || keys[0].Algorithm != AlgEdDSA || string(keys[0].Public) != string(ed.Public) ||
		keys[1].ID != ec.ID || keys[1].Algorithm != AlgES256 || string(keys[1].Public) != string(ec.Public) {
		t.Fatalf("parsed %+v", keys)
	}
	// alg and use are optional.
	minimal := `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"` + ed.ID + `","x":"` + base64.RawURLEncoding.EncodeToString(ed.Public) + `"}]}`
	if k, err := ParseJWKS([]byte(minimal)); err != nil || k[0].Algorithm != AlgEdDSA {
		t.Fatalf("minimal: %v %+v", err, k)
	}
}

// TestParseJWKSRejects: each promise of docs/keys.md, broken once.
func TestParseJWKSRejects(t *testing.T) {
	ed, ec := testKeys(t)
	good := jwkJSON(ed)
	x := base64.RawURLEncoding.EncodeToString(ed.Public)
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	edit := func(from, to string) string {
		if !strings.Contains(good, from) {
			t.Fatalf("%s not in %s", from, good)
		}
		return set(strings.Replace(good, from, to, 1))
	}
	offCurve := ec
	offCurve.Public = append([]byte(nil), ec.Public...)
	offCurve.Public[64] ^= 1
	cases := map[string]string{
		"unknown member in a key":      edit(`"use":"sig"`, `"use":"sig","key_ops":"verify"`),
		"unknown member, string value": edit(`"use":"sig"`, `"use":"sig","x5u":"https://evil.example"`),
		"second document":              set(good) + `{"keys":[]}`,
		"trailing garbage":             set(good) + `x`,
		"unknown top-level member":     `{"keys":[` + good + `],"extra":1}`,
		"no keys member":               `{}`,
		"empty key list":               `{"keys":[]}`,
		"keys not an array":            `{"keys":{}}`,
		"not an object":                `[` + good + `]`,
		"empty input":                  ``,
		"private key":                  edit(`"x":"`, `"d":"`+x+`","x":"`),
		"duplicate member":             edit(`"use":"sig"`, `"use":"sig","use":"sig"`),
		"duplicate member via escape":  edit(`"use":"sig"`, `"use":"sig","\u0075se":"sig"`),
		"duplicate keys member":        `{"keys":[` + good + `],"keys":[` + good + `]}`,
		"duplicate kid":                set(good, good),
		"kid not thumbprint":           edit(`"kid":"`+ed.ID, `"kid":"my-key`),
		"kid missing":                  edit(`"kid":"`+ed.ID+`",`, ``),
		"alg mismatch":                 edit(`"alg":"EdDSA"`, `"alg":"ES256"`),
		"alg none":                     edit(`"alg":"EdDSA"`, `"alg":"none"`),
		"use enc":                      edit(`"use":"sig"`, `"use":"enc"`),
		"kty RSA":                      edit(`"kty":"OKP"`, `"kty":"RSA"`),
		"curve X25519":                 edit(`"crv":"Ed25519"`, `"crv":"X25519"`),
		"kty missing":                  edit(`"kty":"OKP",`, ``),
		"x missing":                    edit(`,"x":"`+x+`"`, ``),
		"x short":                      edit(x, x[:40]),
		"x padded":                     edit(x, x+"="),
		"x not canonical":              edit(x, x[:len(x)-1]+"B"),
		"y on OKP key":                 edit(`"x":"`, `"y":"`+x+`","x":"`),
		"number value":                 edit(`"use":"sig"`, `"use":1`),
		"nested value":                 edit(`"use":"sig"`, `"use":{"a":"b"}`),
		"off-curve P-256 point":        set(jwkJSON(offCurve)),
		"invalid UTF-8":                edit(`"use":"sig"`, "\"use\":\"s\xffg\""),
		"lone surrogate":               edit(`"use":"sig"`, `"use":"\ud800"`),
		"too large":                    set(good) + strings.Repeat(" ", MaxJWKS),
		"too many keys":                set(strings.Repeat(good+",", MaxJWKSKeys) + good),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseJWKS([]byte(in))
			if !errors.Is(err, ErrJWKS) {
				t.Fatalf("got %v, want ErrJWKS", err)
			}
			if !strings.HasPrefix(err.Error(), "invalid JWKS: ") || strings.Count(err.Error(), "invalid JWKS") != 1 {
				t.Fatalf("message %q", err)
			}
		})
	}
}

// TestParseJWKSKeysVerify: keys parsed from a JWKS verify bundles.
func TestParseJWKSKeysVerify(t *testing.T) {
	ed, _ := testKeys(t)
	keys, err := ParseJWKS([]byte(`{"keys":[` + jwkJSON(ed) + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := testClaims()
	data := forge(canonHeader(c, AlgEdDSA, ed.ID), compressedTest(t), testKey())
	tr := testTrust()
	tr.Keys = keys
	if _, err := Verify(data, tr); err != nil {
		t.Fatal(err)
	}
}
