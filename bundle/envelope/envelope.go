// Package envelope is edgeflag's one bundle verifier: it opens a signed,
// compressed bundle after checking everything a verifier must check before
// trusting it — signature, key id, algorithm, project, environment,
// audience, validity period, anti-rollback version, size limits and the
// exact header profile — and hands back the decoded IR and a loaded engine.
//
// The wire format is a JWS in compact serialization (RFC 7515) with a strict
// profile: the protected header holds alg, kid, typ and the bundle claims;
// the payload is one zstd frame holding the IR encoding of bundle/ir. The
// format, and the verification algorithm step by step, are specified in
// docs/bundle-format.md; trusted keys come from a strict JWKS (docs/keys.md).
//
// The package uses no JOSE library and no reflection-based JSON: the same
// code verifies in Go services, the standard-Go wasm guest and TinyGo. Its
// imports are fenced by deps_test.go. Sealing (signing) is the publisher's
// job, in publisher/seal.
package envelope

import (
	"errors"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// FormatVersion is the envelope format version carried in the "fmt" header
// field. Open rejects any other value with ErrFormatVersion.
const FormatVersion = 1

// Type is the value of the "typ" header field.
const Type = "edgeflag-bundle+jws"

// Signature algorithms (JWS "alg" values) that envelopes may use.
const (
	// AlgEdDSA is Ed25519 (RFC 8037), used with local keys.
	AlgEdDSA = "EdDSA"
	// AlgES256 is ECDSA P-256 with SHA-256 (RFC 7518 §3.4), used with AWS KMS keys.
	AlgES256 = "ES256"
)

// MaxVersion is the largest bundle version an envelope may carry: 2^53-1,
// so that the version survives a JSON number in every language.
const MaxVersion = 1<<53 - 1

// Header field names of the protected header. Exactly these fields are
// present, each once.
const (
	hAlg  = "alg"
	hKid  = "kid"
	hTyp  = "typ"
	hFmt  = "fmt"
	hPrj  = "prj"
	hEnv  = "env"
	hAud  = "aud"
	hVer  = "ver"
	hIat  = "iat"
	hExp  = "exp"
	nHdrs = 10
)

// Claims are the signed statements about a bundle, carried in the JWS
// protected header.
type Claims struct {
	// Format is the envelope format version (FormatVersion).
	Format int
	// Algorithm is the JWS "alg" the envelope is signed with (set by Seal).
	Algorithm string
	// KeyID is the JWS "kid" of the signing key (set by Seal).
	KeyID string
	// Project and Environment name the flag set.
	Project     string
	Environment string
	// Audience is who the bundle is for.
	Audience ir.Audience
	// Version increases monotonically with every publish of the
	// environment; 1..MaxVersion.
	Version uint64
	// IssuedAt and ExpiresAt bound the bundle's validity, in whole seconds.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Errors returned by Open and Verify, one per reason a bundle is rejected.
// Every error returned for bad input matches exactly one of them with
// errors.Is.
var (
	// ErrMalformed: not a well-formed compact JWS of this profile
	// (truncated, trailing garbage, wrong part count, bad base64, invalid
	// JSON, missing or mistyped header field, corrupt zstd frame).
	ErrMalformed = errors.New("malformed bundle")
	// ErrDuplicateKey: a JSON key appears twice in the protected header.
	ErrDuplicateKey = errors.New("duplicate header field")
	// ErrUnknownField: the protected header holds a field this format
	// version does not define (jku, x5u, jwk, crit, ... included).
	ErrUnknownField = errors.New("unknown header field")
	// ErrFormatVersion: the "fmt" header field is not FormatVersion.
	ErrFormatVersion = errors.New("unsupported bundle format version")
	// ErrAlgorithm: "alg" is not in the allow-list (none and HS* never
	// are), or does not match the type of the key named by "kid".
	ErrAlgorithm = errors.New("signature algorithm not allowed")
	// ErrUnknownKey: "kid" names no trusted key.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("invalid signature")
	// ErrProject, ErrEnvironment, ErrAudience: the bundle is for another
	// project, environment or audience than the verifier expects.
	ErrProject     = errors.New("bundle is for another project")
	ErrEnvironment = errors.New("bundle is for another environment")
	ErrAudience    = errors.New("bundle is for another audience")
	// ErrExpired: the bundle expired (beyond the grace period).
	ErrExpired = errors.New("bundle expired")
	// ErrNotYetValid: the bundle was issued in the future (beyond the
	// allowed clock skew).
	ErrNotYetValid = errors.New("bundle not yet valid")
	// ErrRollback: the bundle's version is lower than the last accepted.
	// The concrete error is a *RollbackError.
	ErrRollback = errors.New("bundle version rolled back")
	// ErrTooLarge: the envelope, or the payload before or after
	// decompression, exceeds its size limit.
	ErrTooLarge = errors.New("bundle too large")
	// ErrPayload: the signed payload does not decode to a valid bundle,
	// or the bundle it holds contradicts the signed claims.
	ErrPayload = errors.New("invalid bundle payload")
)

// ErrJWKS reports a JWKS that ParseJWKS refuses (see docs/keys.md).
var ErrJWKS = errors.New("invalid JWKS")

// RollbackError reports a bundle whose version is lower than the last one
// the verifier accepted. It matches ErrRollback with errors.Is.
type RollbackError struct {
	Got, Last uint64
}

// Error implements error.
func (e *RollbackError) Error() string {
	return "bundle version rolled back: version " + strconv.FormatUint(e.Got, 10) +
		" is lower than last accepted " + strconv.FormatUint(e.Last, 10)
}

// Is reports whether target is ErrRollback.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// rejection is a sentinel with the precise reason; it matches its
// sentinel with errors.Is.
type rejection struct {
	sentinel error
	reason   string
}

func (r *rejection) Error() string { return r.sentinel.Error() + ": " + r.reason }
func (r *rejection) Unwrap() error { return r.sentinel }

// reject wraps a sentinel with a precise reason.
func reject(sentinel error, reason string) error {
	return &rejection{sentinel: sentinel, reason: reason}
}

// quote renders s as a Go-style double-quoted string for error messages,
// so control characters in untrusted input cannot forge log lines.
func quote(s string) string { return strconv.Quote(s) }

// sentinelNames lists every rejection with its stable name, in the order
// docs/bundle-format.md's error table gives. The names are part of the
// cross-runtime contract: the envelope vectors and the wasm ABI report
// rejections by them.
func sentinelNames() []struct {
	err  error
	name string
} {
	return []struct {
		err  error
		name string
	}{
		{ErrTooLarge, "ErrTooLarge"},
		{ErrMalformed, "ErrMalformed"},
		{ErrDuplicateKey, "ErrDuplicateKey"},
		{ErrFormatVersion, "ErrFormatVersion"},
		{ErrUnknownField, "ErrUnknownField"},
		{ErrAlgorithm, "ErrAlgorithm"},
		{ErrUnknownKey, "ErrUnknownKey"},
		{ErrSignature, "ErrSignature"},
		{ErrProject, "ErrProject"},
		{ErrEnvironment, "ErrEnvironment"},
		{ErrAudience, "ErrAudience"},
		{ErrNotYetValid, "ErrNotYetValid"},
		{ErrExpired, "ErrExpired"},
		{ErrRollback, "ErrRollback"},
		{ErrPayload, "ErrPayload"},
		{ErrJWKS, "ErrJWKS"},
	}
}

// ErrorName returns the stable name of the sentinel err matches
// ("ErrSignature", "ErrExpired", ...), or "" when it matches none (a
// caller's misuse, such as a trust without a clock). Runtimes that cannot
// share Go's error values (the wasm ABI, the conformance vectors) report
// rejections by these names.
func ErrorName(err error) string {
	for _, s := range sentinelNames() {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return ""
}

// ErrorByName is the inverse of ErrorName: the sentinel with that name,
// or nil.
func ErrorByName(name string) error {
	for _, s := range sentinelNames() {
		if s.name == name {
			return s.err
		}
	}
	return nil
}
