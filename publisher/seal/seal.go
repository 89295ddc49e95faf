// Package seal is the signing side of bundles: it compresses an encoded
// flag bundle with zstd and signs it as a compact JWS in the strict profile
// of docs/bundle-format.md, with go-jose. Verification is not here: every
// runtime, the publisher included, verifies with bundle/envelope.
package seal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Signer is a signing key and its key id.
type Signer struct {
	// KeyID is the "kid" written into the header; verifiers look the
	// public key up by it (publisher/keys uses the RFC 7638 thumbprint).
	KeyID string
	// Key signs: an ed25519.PrivateKey (alg EdDSA) or any crypto.Signer
	// whose public key is an ECDSA P-256 key (alg ES256), such as the AWS
	// KMS adapter in publisher/kms. ECDSA signers return ASN.1 DER, as
	// crypto.Signer specifies; Seal converts it to the r‖s form JWS uses.
	Key crypto.Signer
}

// Algorithm returns the JWS alg the signer's key type implies.
func (s Signer) Algorithm() (string, error) {
	if s.Key == nil {
		return "", errors.New("signer has no key")
	}
	k, err := PublicKey("", s.Key.Public())
	if err != nil {
		return "", err
	}
	return k.Algorithm, nil
}

// PublicKey describes an Ed25519 or ECDSA P-256 public key as the
// verifier's key type, with the given key id.
func PublicKey(kid string, pub crypto.PublicKey) (envelope.Key, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return envelope.Key{ID: kid, Algorithm: envelope.AlgEdDSA, Public: append([]byte(nil), k...)}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return envelope.Key{}, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
		raw, err := k.Bytes()
		if err != nil {
			return envelope.Key{}, fmt.Errorf("encode P-256 key: %w", err)
		}
		return envelope.Key{ID: kid, Algorithm: envelope.AlgES256, Public: raw}, nil
	default:
		return envelope.Key{}, fmt.Errorf("unsupported signing key type %T", pub)
	}
}

// Seal compresses payload (the IR encoding of a bundle) and signs it with
// the claims in the protected header. c.Format, c.Algorithm and c.KeyID
// are set by Seal; the times are truncated to whole seconds.
//
// Sealing is deterministic for Ed25519: the same payload, claims and key
// always give the same bytes. ECDSA signatures are randomized, so ES256
// envelopes of the same payload differ in their signature only.
func Seal(payload []byte, c envelope.Claims, s Signer) ([]byte, error) {
	pub, err := signerKey(s)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if err := checkClaims(c); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	compressed, err := compress(payload)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	out, err := signCompact(compressed, c, s, pub.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	// Check the result with the one verifier, against our own key and
	// with its default size limits, so a signer whose key does not match
	// its public key (a misconfigured KMS key), a header the verifier
	// would not accept or a payload too large for it never leaves the
	// publisher.
	if _, err := envelope.Verify(out, selfTrust(pub, c)); err != nil {
		return nil, selfCheckErr(err)
	}
	return out, nil
}

// SealIR seals payload, which must be the IR encoding of a bundle for the
// claimed project, environment and audience, and checks that the result
// opens, as a whole, under a verifier's default limits (envelope.Open:
// sizes, decoding, the payload against the claims, loading into the
// engine). A publisher that seals through it never writes a bundle that a
// verifier rejects.
func SealIR(payload []byte, c envelope.Claims, s Signer) ([]byte, error) {
	out, err := Seal(payload, c, s)
	if err != nil {
		return nil, err
	}
	pub, _ := signerKey(s) // Seal checked it
	if _, err := envelope.Open(out, selfTrust(pub, c)); err != nil {
		return nil, selfCheckErr(err)
	}
	return out, nil
}

// SealBundle encodes b with ir.Encode and seals it with SealIR. The
// project, environment and audience claims are taken from b; c supplies
// the version and validity period (its other fields are ignored).
func SealBundle(b *ir.Bundle, c envelope.Claims, s Signer) ([]byte, error) {
	payload, err := ir.Encode(b)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	c.Project, c.Environment, c.Audience = b.Project, b.Environment, b.Audience
	return SealIR(payload, c, s)
}

// ErrUnverifiable reports a bundle that verifiers with default limits
// would reject for its content: too large before or after compression, or
// a payload that does not decode or load (Preflight, SealIR). The concrete
// error is an *UnverifiableError.
var ErrUnverifiable = errors.New("verifiers would reject the bundle")

// UnverifiableError says why verifiers would reject a bundle.
type UnverifiableError struct {
	// Reason is the problem in words, e.g. "9437184 bytes (9.0 MiB)
	// compressed; verifiers accept at most 8388608 bytes (8.0 MiB)".
	Reason string
	// Err is the decoder's, engine's or verifier's error, if any.
	Err error
}

// Error returns "preflight bundle: " and the reason.
func (e *UnverifiableError) Error() string { return "preflight bundle: " + e.Reason }

// Unwrap returns the underlying error.
func (e *UnverifiableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnverifiable) hold.
func (e *UnverifiableError) Is(target error) bool { return target == ErrUnverifiable }

func unverifiable(err error, format string, args ...any) error {
	return &UnverifiableError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// Preflight checks an IR encoding the way envelope.Open with default
// limits will, without a key: its size, its size once compressed exactly as
// Seal compresses it, its decoding under ir.DefaultLimits and its loading
// into the engine. Errors match ErrUnverifiable; compile reports them at
// the environment they belong to, so validate, build and publish agree.
func Preflight(payload []byte) error {
	if n, max := len(payload), envelope.DefaultMaxDecompressed; n > max {
		return unverifiable(nil, "%s encoded; verifiers accept at most %s", size(n), size(max))
	}
	compressed, err := compress(payload)
	if err != nil {
		return fmt.Errorf("preflight bundle: %w", err)
	}
	if n, max := len(compressed), envelope.DefaultMaxCompressed; n > max {
		return unverifiable(nil, "%s compressed; verifiers accept at most %s", size(n), size(max))
	}
	b, err := ir.Decode(payload, ir.DefaultLimits())
	if err != nil {
		return unverifiable(err, "%v", err)
	}
	if _, err := eval.Load(b, 1); err != nil {
		return unverifiable(err, "%v", err)
	}
	return nil
}

// size formats a byte count for messages: "9437184 bytes (9.0 MiB)".
func size(n int) string {
	return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
}

// selfTrust is the trust a verifier with default limits would apply to a
// bundle sealed with claims c by the key pub, at its issue time.
func selfTrust(pub envelope.Key, c envelope.Claims) envelope.Trust {
	return envelope.Trust{
		Keys:        []envelope.Key{pub},
		Project:     c.Project,
		Environment: c.Environment,
		Audience:    c.Audience,
		Now:         c.IssuedAt.Truncate(time.Second),
	}
}

// selfCheckErr wraps the verifier's rejection of our own output: a content
// problem (size, payload) matches ErrUnverifiable, anything else is a
// broken signer or sealer.
func selfCheckErr(err error) error {
	if errors.Is(err, envelope.ErrTooLarge) || errors.Is(err, envelope.ErrPayload) {
		return fmt.Errorf("seal bundle: self-check: %w", unverifiable(err, "%v", err))
	}
	return fmt.Errorf("seal bundle: self-check: %w", err)
}

// signerKey checks the signer and returns its public key as the verifier
// sees it.
func signerKey(s Signer) (envelope.Key, error) {
	if s.Key == nil {
		return envelope.Key{}, errors.New("signer has no key")
	}
	if s.KeyID == "" {
		return envelope.Key{}, errors.New("signer has no key id")
	}
	return PublicKey(s.KeyID, s.Key.Public())
}

// The encoder settings are fixed so that the same payload always compresses
// to the same bytes (with a given klauspost/compress version): one
// goroutine, one frame with its content size, a checksum.
var encoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		zstd.WithSingleSegment(true),
	)
})

// compress returns payload as one zstd frame.
func compress(payload []byte) ([]byte, error) {
	enc, err := encoder()
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	return enc.EncodeAll(payload, nil), nil
}

// signCompact signs an already compressed payload with go-jose and returns
// the compact serialization.
func signCompact(compressed []byte, c envelope.Claims, s Signer, alg string) ([]byte, error) {
	opts := (&jose.SignerOptions{}).
		WithType(envelope.Type).
		WithHeader("fmt", envelope.FormatVersion).
		WithHeader("prj", c.Project).
		WithHeader("env", c.Environment).
		WithHeader("aud", c.Audience.String()).
		WithHeader("ver", c.Version).
		WithHeader("iat", c.IssuedAt.Unix()).
		WithHeader("exp", c.ExpiresAt.Unix())
	op := &opaque{alg: jose.SignatureAlgorithm(alg), kid: s.KeyID, key: s.Key}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: op.alg, Key: op}, opts)
	if err != nil {
		return nil, fmt.Errorf("create signer: %w", err)
	}
	obj, err := signer.Sign(compressed)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("serialize: %w", err)
	}
	return []byte(out), nil
}

func checkClaims(c envelope.Claims) error {
	if c.Project == "" || c.Environment == "" {
		return errors.New("claims need a project and an environment")
	}
	if c.Audience != ir.AudienceServer && c.Audience != ir.AudienceClient {
		return fmt.Errorf("invalid audience %d", c.Audience)
	}
	if c.Version < 1 || c.Version > envelope.MaxVersion {
		return fmt.Errorf("version %d out of range 1..%d", c.Version, uint64(envelope.MaxVersion))
	}
	iat, exp := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	if c.IssuedAt.IsZero() || iat < 0 || iat > envelope.MaxVersion {
		return fmt.Errorf("invalid issued-at %v", c.IssuedAt)
	}
	if exp <= iat || exp > envelope.MaxVersion {
		return fmt.Errorf("expires-at %v is not after issued-at %v", c.ExpiresAt, c.IssuedAt)
	}
	return nil
}

// opaque adapts a crypto.Signer to go-jose's OpaqueSigner, converting
// ECDSA's DER signatures into the fixed-size r‖s of RFC 7518 §3.4.
type opaque struct {
	alg jose.SignatureAlgorithm
	kid string
	key crypto.Signer
}

func (o *opaque) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.key.Public(), KeyID: o.kid, Algorithm: string(o.alg)}
}

func (o *opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{o.alg} }

func (o *opaque) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != o.alg {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	switch alg {
	case jose.EdDSA:
		return o.key.Sign(rand.Reader, payload, crypto.Hash(0))
	case jose.ES256:
		digest := sha256.Sum256(payload)
		der, err := o.key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return DERToRS(der, 32)
	}
	return nil, jose.ErrUnsupportedAlgorithm
}

// DERToRS converts an ASN.1 DER ECDSA signature (SEQUENCE { r INTEGER,
// s INTEGER }), as crypto.Signer and AWS KMS return it, into the JWS form:
// r and s as big-endian unsigned integers left-padded to size bytes each
// (32 for P-256), concatenated. It rejects trailing data, non-positive
// values and values wider than size.
func DERToRS(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("parse ECDSA signature: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("parse ECDSA signature: %d trailing bytes", len(rest))
	}
	out := make([]byte, 2*size)
	for i, v := range []*big.Int{sig.R, sig.S} {
		if v.Sign() <= 0 || (v.BitLen()+7)/8 > size {
			return nil, fmt.Errorf("parse ECDSA signature: integer out of range")
		}
		v.FillBytes(out[i*size : (i+1)*size])
	}
	return out, nil
}
