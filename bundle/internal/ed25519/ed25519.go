// Package ed25519 verifies Ed25519 signatures (RFC 8032, pure Ed25519) for
// the TinyGo module's verifier without crypto/ed25519, which brings the
// standard library's FIPS 140 module (self-tests, DRBG, AES, SHA-3): a
// quarter of that module. The group arithmetic is filippo.io/edwards25519,
// the upstream of the copy inside the standard library, and Verify checks
// exactly what crypto/ed25519.Verify checks, in the same order
// (FuzzAgainstStd holds the two to the same answers).
package ed25519

import (
	"filippo.io/edwards25519"

	"github.com/edgeflag/edgeflag/bundle/internal/sha2"
)

// PublicKeySize and SignatureSize are the sizes of an Ed25519 public key
// and signature.
const (
	PublicKeySize = 32
	SignatureSize = 64
)

// Verify reports whether sig is pub's signature of msg.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize || sig[63]&224 != 0 {
		return false
	}
	a, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	h := sha2.Sum512(sig[:32], pub, msg)
	k, err := edwards25519.NewScalar().SetUniformBytes(h[:])
	if err != nil {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	// [S]B = R + [k]A, that is [k](-A) + [S]B = R.
	minusA := new(edwards25519.Point).Negate(a)
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, s)
	return string(r.Bytes()) == string(sig[:32])
}
