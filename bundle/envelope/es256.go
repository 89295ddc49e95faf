//go:build !edgeflag_noes256

package envelope

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
)

// es256Supported reports whether this build verifies ES256. Builds with
// the tag edgeflag_noes256 (es256_none.go) leave crypto/ecdsa out.
const es256Supported = true

// checkP256Point reports whether pub (0x04‖X‖Y) is a point on P-256.
func checkP256Point(pub []byte) error {
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub); err != nil {
		return reject(ErrJWKS, "P-256 public key is not a point on the curve")
	}
	return nil
}

// verifyES256 checks an ECDSA P-256 signature r‖s over SHA-256(input).
func verifyES256(pub, input, sig []byte) bool {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		return false
	}
	h := sha256.Sum256(input)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(k, h[:], r, s)
}
