package envelope

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// This file is the tests' own signer, written from docs/bundle-format.md
// without go-jose: the canonical header (members sorted, no whitespace),
// one zstd frame with its content size, and an Ed25519 or ES256 (r‖s)
// signature. The publisher signs with go-jose (publisher/seal); both
// reproduce testdata/example.jws byte for byte.

// testCompress returns payload as one zstd frame with the publisher's
// documented settings.
func testCompress(tb testing.TB, payload []byte) []byte {
	tb.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true), zstd.WithSingleSegment(true))
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(payload, nil)
}

// canonHeader writes the protected header for c as the publisher does.
func canonHeader(c Claims, alg, kid string) string {
	return `{"alg":` + strconv.Quote(alg) + `,"aud":` + strconv.Quote(c.Audience.String()) +
		`,"env":` + strconv.Quote(c.Environment) + `,"exp":` + strconv.FormatInt(c.ExpiresAt.Unix(), 10) +
		`,"fmt":1,"iat":` + strconv.FormatInt(c.IssuedAt.Unix(), 10) + `,"kid":` + strconv.Quote(kid) +
		`,"prj":` + strconv.Quote(c.Project) + `,"typ":"edgeflag-bundle+jws","ver":` +
		strconv.FormatUint(c.Version, 10) + `}`
}

// forge builds a compact JWS from a raw header JSON and a compressed
// payload, signed with Ed25519 directly, as an attacker who holds the key,
// or another implementation, would.
func forge(hdrJSON string, payload []byte, key ed25519.PrivateKey) []byte {
	enc := b64()
	input := enc.EncodeToString([]byte(hdrJSON)) + "." + enc.EncodeToString(payload)
	return []byte(input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input))))
}

// forgeES256 is forge for an ECDSA P-256 key, with the r‖s signature.
func forgeES256(tb testing.TB, hdrJSON string, payload []byte, key *ecdsa.PrivateKey) []byte {
	tb.Helper()
	enc := b64()
	input := enc.EncodeToString([]byte(hdrJSON)) + "." + enc.EncodeToString(payload)
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return []byte(input + "." + enc.EncodeToString(sig))
}

// testSeal seals payload under c with the Ed25519 test key.
func testSeal(tb testing.TB, payload []byte, c Claims) []byte {
	tb.Helper()
	return forge(canonHeader(c, AlgEdDSA, testKid), testCompress(tb, payload), testKey())
}

// testSealBundle encodes b and seals it, taking project, environment and
// audience from b.
func testSealBundle(tb testing.TB, b *ir.Bundle, c Claims) []byte {
	tb.Helper()
	payload, err := ir.Encode(b)
	if err != nil {
		tb.Fatal(err)
	}
	c.Project, c.Environment, c.Audience = b.Project, b.Environment, b.Audience
	return testSeal(tb, payload, c)
}

// edKey and ecKey describe test public keys for a Trust.
func edKey(kid string, priv ed25519.PrivateKey) Key {
	return Key{ID: kid, Algorithm: AlgEdDSA, Public: append([]byte(nil), priv.Public().(ed25519.PublicKey)...)}
}

func ecKey(tb testing.TB, kid string, priv *ecdsa.PrivateKey) Key {
	tb.Helper()
	raw, err := priv.PublicKey.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return Key{ID: kid, Algorithm: AlgES256, Public: raw}
}
