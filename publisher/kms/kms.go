// Package kms adapts an AWS KMS asymmetric signing key (ECC_NIST_P256,
// ECDSA_SHA_256) to crypto.Signer, so the publisher can seal bundles with
// ES256 without the private key ever leaving KMS.
//
// KMS returns ECDSA signatures in ASN.1 DER, which is also what
// crypto.Signer promises; bundle/envelope converts them to the fixed-size
// r‖s form JWS ES256 requires (envelope.DERToRS).
package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// API is the part of the KMS client the signer uses; *kms.Client
// satisfies it.
type API interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// DefaultTimeout bounds one KMS Sign call made through crypto.Signer's
// context-free Sign method.
const DefaultTimeout = 30 * time.Second

// Signer is a crypto.Signer backed by a KMS key.
type Signer struct {
	api   API
	keyID string
	pub   *ecdsa.PublicKey
	// Timeout bounds each Sign call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// New fetches the public key of keyID (a key id, key ARN, alias name or
// alias ARN) and checks that it is an ECC_NIST_P256 signing key that
// supports ECDSA_SHA_256.
func New(ctx context.Context, api API, keyID string) (*Signer, error) {
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &keyID})
	if err != nil {
		return nil, fmt.Errorf("get KMS public key %s: %w", keyID, err)
	}
	if out.KeySpec != types.KeySpecEccNistP256 {
		return nil, fmt.Errorf("KMS key %s: key spec %q, want %q", keyID, out.KeySpec, types.KeySpecEccNistP256)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("KMS key %s: key usage %q, want %q", keyID, out.KeyUsage, types.KeyUsageTypeSignVerify)
	}
	if !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256) {
		return nil, fmt.Errorf("KMS key %s does not support %s", keyID, types.SigningAlgorithmSpecEcdsaSha256)
	}
	pk, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: parse public key: %w", keyID, err)
	}
	pub, ok := pk.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("KMS key %s: public key is %T, want ECDSA P-256", keyID, pk)
	}
	return &Signer{api: api, keyID: keyID, pub: pub}, nil
}

// KeyID returns the KMS key identifier the signer was created with.
func (s *Signer) KeyID() string { return s.keyID }

// Public returns the key's *ecdsa.PublicKey.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs a SHA-256 digest with KMS (MessageType DIGEST,
// ECDSA_SHA_256) and returns the ASN.1 DER signature. rand is unused: KMS
// draws its own randomness.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.SignContext(ctx, digest, opts)
}

// SignContext is Sign with a caller-supplied context.
func (s *Signer) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("KMS sign: only SHA-256 digests are supported")
	}
	if len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("KMS sign: digest is %d bytes, want %d", len(digest), crypto.SHA256.Size())
	}
	out, err := s.api.Sign(ctx, &kms.SignInput{
		KeyId:            &s.keyID,
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("KMS sign with %s: %w", s.keyID, err)
	}
	if out.SigningAlgorithm != "" && out.SigningAlgorithm != types.SigningAlgorithmSpecEcdsaSha256 {
		return nil, fmt.Errorf("KMS sign with %s: response algorithm %q", s.keyID, out.SigningAlgorithm)
	}
	// Check the signature against the public key fetched at New: a key
	// changed or mixed up behind the id fails here, not at every verifier.
	if !ecdsa.VerifyASN1(s.pub, digest, out.Signature) {
		return nil, fmt.Errorf("KMS sign with %s: signature does not verify with the key's public key", s.keyID)
	}
	return out.Signature, nil
}
