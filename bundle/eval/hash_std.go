//go:build !tinygo && !edgeflag_small

package eval

import "crypto/sha256"

// sum256 is the standard library's SHA-256; builds with the tag tinygo or
// edgeflag_small use edgeflag's (hash_small.go), which leaves the FIPS 140
// module out of the TinyGo module.
func sum256(b []byte) [32]byte { return sha256.Sum256(b) }
