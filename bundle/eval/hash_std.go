//go:build !tinygo && !edgeflag_tiny

package eval

import "crypto/sha256"

// sum256 is the standard library's SHA-256; builds with the tag tinygo or
// edgeflag_tiny use edgeflag's (hash_tiny.go), which leaves the FIPS 140
// module out of the TinyGo module.
func sum256(b []byte) [32]byte { return sha256.Sum256(b) }
