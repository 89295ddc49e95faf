//go:build tinygo || edgeflag_small

package eval

import "github.com/edgeflag/edgeflag/bundle/internal/sha2"

// sum256 is edgeflag's SHA-256 (see hash_std.go).
func sum256(b []byte) [32]byte { return sha2.Sum256(b) }
