//go:build !tinygo && !edgeflag_small

package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// The standard library's Ed25519 and SHA-256; builds with the tag tinygo
// or edgeflag_small use edgeflag's small ones instead (crypto_small.go),
// which give the same answers and leave the FIPS 140 module out.

const ed25519PublicKeySize = ed25519.PublicKeySize

func verifyEd25519(pub, msg, sig []byte) bool {
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

func sum256(b []byte) [32]byte { return sha256.Sum256(b) }
