//go:build tinygo || edgeflag_small

package envelope

import (
	"github.com/edgeflag/edgeflag/bundle/internal/ed25519"
	"github.com/edgeflag/edgeflag/bundle/internal/sha2"
)

// edgeflag's own Ed25519 verification and SHA-256 (see crypto_std.go).

const ed25519PublicKeySize = ed25519.PublicKeySize

func verifyEd25519(pub, msg, sig []byte) bool { return ed25519.Verify(pub, msg, sig) }

func sum256(b []byte) [32]byte { return sha2.Sum256(b) }
