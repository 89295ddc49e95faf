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

	"github.com/go-jose/go-jose/v4"
	"github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/envelope"
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
	// Check the result with the one verifier, against our own key, so a
	// signer whose key does not match its public key (a misconfigured KMS
	// key) or a header the verifier would not accept never leaves the
	// publisher.
	self := envelope.Trust{
		Keys:            []envelope.Key{pub},
		Project:         c.Project,
		Environment:     c.Environment,
		Audience:        c.Audience,
		Now:             c.IssuedAt,
		MaxCompressed:   len(compressed),
		MaxDecompressed: len(payload),
	}
	if _, err := envelope.Verify(out, self); err != nil {
		return nil, fmt.Errorf("seal bundle: self-check: %w", err)
	}
	return out, nil
}

// SealBundle encodes b with ir.Encode and seals it. The project,
// environment and audience claims are taken from b; c supplies the
// version and validity period (its other fields are ignored).
func SealBundle(b *ir.Bundle, c envelope.Claims, s Signer) ([]byte, error) {
	payload, err := ir.Encode(b)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	c.Project, c.Environment, c.Audience = b.Project, b.Environment, b.Audience
	return Seal(payload, c, s)
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
