package envelope

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

	"github.com/go-jose/go-jose/v4"
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
	switch pub := s.Key.Public().(type) {
	case ed25519.PublicKey:
		return AlgEdDSA, nil
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P256() {
			return AlgES256, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", pub.Curve.Params().Name)
	default:
		return "", fmt.Errorf("unsupported signing key type %T", pub)
	}
}

// Seal compresses payload (the IR encoding of a bundle) and signs it with
// the claims in the protected header. c.Format, c.Algorithm and c.KeyID
// are set by Seal; the times are truncated to whole seconds.
//
// Sealing is deterministic for Ed25519: the same payload, claims and key
// always give the same bytes. ECDSA signatures are randomized, so ES256
// envelopes of the same payload differ in their signature only.
func Seal(payload []byte, c Claims, s Signer) ([]byte, error) {
	alg, err := s.Algorithm()
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if s.KeyID == "" {
		return nil, errors.New("seal bundle: signer has no key id")
	}
	if err := checkSealClaims(c); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	compressed, err := compress(payload)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	out, err := signCompact(compressed, c, s, alg)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	// Check the result against our own strict profile and key, so a
	// signer whose key does not match its public key (a misconfigured KMS
	// key) or a header we would not accept never leaves the publisher.
	self := Trust{
		Keys:            []jose.JSONWebKey{{Key: s.Key.Public(), KeyID: s.KeyID}},
		Project:         c.Project,
		Environment:     c.Environment,
		Audience:        c.Audience,
		Now:             c.IssuedAt,
		MaxCompressed:   len(compressed),
		MaxDecompressed: len(payload),
	}
	if _, err := Verify(out, self); err != nil {
		return nil, fmt.Errorf("seal bundle: self-check: %w", err)
	}
	return out, nil
}

// signCompact signs an already compressed payload with go-jose and returns
// the compact serialization.
func signCompact(compressed []byte, c Claims, s Signer, alg string) ([]byte, error) {
	aud, _ := audienceName(c.Audience)
	opts := (&jose.SignerOptions{}).
		WithType(Type).
		WithHeader(hFmt, FormatVersion).
		WithHeader(hPrj, c.Project).
		WithHeader(hEnv, c.Environment).
		WithHeader(hAud, aud).
		WithHeader(hVer, c.Version).
		WithHeader(hIat, c.IssuedAt.Unix()).
		WithHeader(hExp, c.ExpiresAt.Unix())
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

func checkSealClaims(c Claims) error {
	if c.Project == "" || c.Environment == "" {
		return errors.New("claims need a project and an environment")
	}
	if _, ok := audienceName(c.Audience); !ok {
		return fmt.Errorf("invalid audience %d", c.Audience)
	}
	if c.Version < 1 || c.Version > MaxVersion {
		return fmt.Errorf("version %d out of range 1..%d", c.Version, uint64(MaxVersion))
	}
	iat, exp := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	if c.IssuedAt.IsZero() || iat < 0 || iat > MaxVersion {
		return fmt.Errorf("invalid issued-at %v", c.IssuedAt)
	}
	if exp <= iat || exp > MaxVersion {
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
