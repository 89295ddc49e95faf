//go:build edgeflag_noes256

package envelope

// es256Supported is false in builds with the tag edgeflag_noes256, which
// leave crypto/ecdsa out (the wasm guest's size budget). Such builds parse
// P-256 keys in a JWKS (they are well-formed keys) but reject every ES256
// bundle with ErrAlgorithm before any signature is checked.
const es256Supported = false

// checkP256Point accepts any 65-byte point: without crypto/ecdsa the
// curve check is impossible, and no ES256 signature is ever verified.
func checkP256Point(pub []byte) error { return nil }

// verifyES256 is never reached: algorithmAllowed refuses ES256 first.
func verifyES256(pub, input, sig []byte) bool { return false }
