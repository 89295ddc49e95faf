package seal

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

const testKid = "test-key-1"

// testKey is the fixed Ed25519 key of the worked example in
// docs/bundle-format.md (seed 0x07 repeated).
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

var testIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testClaims() envelope.Claims {
	return envelope.Claims{
		Project: "shop", Environment: "production", Audience: ir.AudienceServer,
		Version: 7, IssuedAt: testIat, ExpiresAt: testIat.Add(720 * time.Hour),
	}
}

var testPayload = []byte(strings.Repeat("edgeflag payload bytes; ", 40))

func testSigner() Signer { return Signer{KeyID: testKid, Key: testKey()} }

func testTrust(k envelope.Key) envelope.Trust {
	return envelope.Trust{Keys: []envelope.Key{k}, Project: "shop", Environment: "production",
		Audience: ir.AudienceServer, Now: testIat.Add(time.Hour)}
}

func mustSeal(t *testing.T, payload []byte, c envelope.Claims, s Signer) []byte {
	t.Helper()
	out, err := Seal(payload, c, s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenExample: go-jose's output is byte for byte the worked example
// of docs/bundle-format.md, which the verifier's tests build by hand.
func TestGoldenExample(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "bundle", "envelope", "testdata", "example.jws"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSeal(t, testPayload, testClaims(), testSigner()); string(got)+"\n" != string(want) {
		t.Fatalf("Seal differs from bundle/envelope/testdata/example.jws:\n%s\n%s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	data := mustSeal(t, testPayload, testClaims(), testSigner())
	pub, err := PublicKey(testKid, testKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := envelope.Verify(data, testTrust(pub))
	if err != nil {
		t.Fatal(err)
	}
	want := testClaims()
	want.Format, want.Algorithm, want.KeyID = envelope.FormatVersion, envelope.AlgEdDSA, testKid
	if v.Claims != want || !bytes.Equal(v.Payload, testPayload) {
		t.Fatalf("claims %+v, want %+v", v.Claims, want)
	}
}

func TestDeterministic(t *testing.T) {
	a := mustSeal(t, testPayload, testClaims(), testSigner())
	b := mustSeal(t, testPayload, testClaims(), testSigner())
	if !bytes.Equal(a, b) {
		t.Fatal("two Ed25519 seals of the same input differ")
	}
	c := testClaims()
	c.Version++
	if bytes.Equal(a, mustSeal(t, testPayload, c, testSigner())) {
		t.Fatal("different claims gave the same envelope")
	}
}

func TestES256(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := Signer{KeyID: "ec", Key: key}
	a := mustSeal(t, testPayload, testClaims(), s)
	b := mustSeal(t, testPayload, testClaims(), s)
	if bytes.Equal(a, b) {
		t.Fatal("ECDSA signatures should be randomized")
	}
	pub, err := PublicKey("ec", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{a, b} {
		v, err := envelope.Verify(data, testTrust(pub))
		if err != nil {
			t.Fatal(err)
		}
		if v.Claims.Algorithm != envelope.AlgES256 {
			t.Fatalf("claims %+v", v.Claims)
		}
		// r‖s by hand with crypto/ecdsa, and go-jose as the reference.
		i := bytes.LastIndexByte(data, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(string(data[i+1:]))
		d := sha256.Sum256(data[:i])
		if !ecdsa.Verify(&key.PublicKey, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatal("r‖s signature does not verify with crypto/ecdsa")
		}
		if _, err := joseVerify(data, &key.PublicKey, jose.ES256); err != nil {
			t.Fatalf("go-jose rejects: %v", err)
		}
	}
}

func TestDERToRS(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("x"))
	der, err := key.Sign(rand.Reader, d[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := DERToRS(der, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.Verify(&key.PublicKey, d[:], new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])) {
		t.Fatal("converted signature does not verify")
	}
	// A small r is left-padded: SEQUENCE { INTEGER 1, INTEGER 2 }.
	small, err := DERToRS([]byte{0x30, 6, 2, 1, 1, 2, 1, 2}, 32)
	if err != nil || len(small) != 64 || small[31] != 1 || small[63] != 2 || small[0] != 0 {
		t.Fatalf("small: %x %v", small, err)
	}
	bad := map[string][]byte{
		"trailing": append(append([]byte{}, der...), 0),
		"negative": {0x30, 6, 2, 1, 0xff, 2, 1, 2},
		"zero":     {0x30, 6, 2, 1, 0, 2, 1, 2},
		"too wide": append([]byte{0x30, 38, 2, 33, 1}, append(bytes.Repeat([]byte{1}, 32), 2, 1, 2)...),
		"empty":    {},
	}
	for name, in := range bad {
		if _, err := DERToRS(in, 32); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSealRejectsBadInput(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edits := map[string]func(*envelope.Claims, *Signer){
		"no project":   func(c *envelope.Claims, s *Signer) { c.Project = "" },
		"no env":       func(c *envelope.Claims, s *Signer) { c.Environment = "" },
		"bad audience": func(c *envelope.Claims, s *Signer) { c.Audience = 9 },
		"version 0":    func(c *envelope.Claims, s *Signer) { c.Version = 0 },
		"version 2^53": func(c *envelope.Claims, s *Signer) { c.Version = envelope.MaxVersion + 1 },
		"exp = iat":    func(c *envelope.Claims, s *Signer) { c.ExpiresAt = c.IssuedAt },
		"no iat":       func(c *envelope.Claims, s *Signer) { c.IssuedAt = time.Time{} },
		"no kid":       func(c *envelope.Claims, s *Signer) { s.KeyID = "" },
		"no key":       func(c *envelope.Claims, s *Signer) { s.Key = nil },
		"P-384 key":    func(c *envelope.Claims, s *Signer) { s.Key = p384 },
	}
	for name, edit := range edits {
		c, s := testClaims(), testSigner()
		edit(&c, &s)
		if _, err := Seal(testPayload, c, s); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
}

// lyingSigner signs with one key but claims another's public key, like a
// misconfigured KMS key.
type lyingSigner struct{ ed25519.PrivateKey }

func (l lyingSigner) Public() crypto.PublicKey {
	return ed25519.NewKeyFromSeed(make([]byte, 32)).Public()
}

func TestSelfCheck(t *testing.T) {
	_, err := Seal(testPayload, testClaims(), Signer{KeyID: testKid, Key: lyingSigner{testKey()}})
	if !errors.Is(err, envelope.ErrSignature) {
		t.Fatalf("got %v, want a self-check failure matching ErrSignature", err)
	}
}

// joseVerify checks an envelope with go-jose, the differential reference.
func joseVerify(data []byte, pub any, alg jose.SignatureAlgorithm) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(string(data), []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil, err
	}
	return obj.Verify(pub)
}

func TestGoJoseAgrees(t *testing.T) {
	good := mustSeal(t, testPayload, testClaims(), testSigner())
	if _, err := joseVerify(good, testKey().Public(), jose.EdDSA); err != nil {
		t.Fatalf("go-jose rejects a sealed envelope: %v", err)
	}
}

func TestPublicKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, err := PublicKey("", ec.Public())
	if err != nil || k.Algorithm != envelope.AlgES256 || len(k.Public) != 65 {
		t.Fatalf("P-256: %+v %v", k, err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := PublicKey("", p384.Public()); err == nil {
		t.Fatal("P-384 accepted")
	}
}

// validIR is the encoding of a minimal bundle for testClaims.
func validIR(t *testing.T, project string) []byte {
	t.Helper()
	b := ir.NewBuilder(project, "production", ir.AudienceServer)
	enc, err := ir.Encode(b.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// Nothing Seal or SealIR returns is refused by a verifier with default
// limits: too large payloads, payloads that do not decode and payloads for
// another project are errors matching ErrUnverifiable, and Preflight
// reports the same without a key.
func TestVerifierLimitsEnforced(t *testing.T) {
	random := make([]byte, 9<<20)
	rand.Read(random)
	huge := make([]byte, envelope.DefaultMaxDecompressed+1)
	for name, c := range map[string]struct {
		payload []byte
		sealIR  bool
		reason  string
	}{
		"compressed over 8 MiB":    {random, false, "compressed; verifiers accept at most 8388608 bytes (8.0 MiB)"},
		"decompressed over 64 MiB": {huge, false, ""},
		"not an IR encoding":       {testPayload, true, ""},
		"another project's IR":     {validIR(t, "other"), true, ""},
	} {
		var err error
		if c.sealIR {
			_, err = SealIR(c.payload, testClaims(), testSigner())
		} else {
			_, err = Seal(c.payload, testClaims(), testSigner())
		}
		var ue *UnverifiableError
		if !errors.Is(err, ErrUnverifiable) || !errors.As(err, &ue) {
			t.Errorf("%s: sealed or wrong error: %v", name, err)
		}
		if name == "another project's IR" {
			continue // Preflight knows no claims
		}
		perr := Preflight(c.payload)
		if !errors.Is(perr, ErrUnverifiable) || !strings.Contains(perr.Error(), c.reason) {
			t.Errorf("%s: Preflight = %v, want ErrUnverifiable with %q", name, perr, c.reason)
		}
	}
	good := validIR(t, "shop")
	if err := Preflight(good); err != nil {
		t.Fatalf("Preflight of a valid bundle: %v", err)
	}
	out, err := SealIR(good, testClaims(), testSigner())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := PublicKey(testKid, testKey().Public())
	if _, err := envelope.Open(out, testTrust(k)); err != nil {
		t.Errorf("a SealIR bundle does not open: %v", err)
	}
}
