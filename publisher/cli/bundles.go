package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/klauspost/compress/zstd"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/kms"
)

// loadSigner returns the signer named by --key (a private JWK file) or
// --kms-key (an AWS KMS key id or ARN); exactly one must be given.
func loadSigner(ctx context.Context, keyPath, kmsKey string) (envelope.Signer, error) {
	switch {
	case keyPath != "" && kmsKey != "":
		return envelope.Signer{}, invalidf("give either --key or --kms-key, not both")
	case keyPath != "":
		k, err := keys.LoadPrivate(keyPath)
		if err != nil {
			return envelope.Signer{}, fmt.Errorf("load signing key: %w", err)
		}
		s, err := keys.Signer(k)
		if err != nil {
			return envelope.Signer{}, fmt.Errorf("load signing key: %w", err)
		}
		return s, nil
	case kmsKey != "":
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return envelope.Signer{}, fmt.Errorf("load AWS config: %w", err)
		}
		ks, err := kms.New(ctx, awskms.NewFromConfig(cfg), kmsKey)
		if err != nil {
			return envelope.Signer{}, fmt.Errorf("open KMS key: %w", err)
		}
		kid, err := keys.Thumbprint(ks.Public())
		if err != nil {
			return envelope.Signer{}, fmt.Errorf("open KMS key: %w", err)
		}
		return envelope.Signer{KeyID: kid, Key: ks}, nil
	default:
		return envelope.Signer{}, invalidf("a signing key is required: --key KEY or --kms-key ARN")
	}
}

// signerJWKS is the trust set of the signer's own public key.
func signerJWKS(s envelope.Signer) []jose.JSONWebKey {
	return []jose.JSONWebKey{{Key: s.Key.Public(), KeyID: s.KeyID}}
}

// headerHint is the part of an envelope's protected header the CLI reads
// before verification, only to know what to verify against. Nothing in it
// is trusted until envelope.Verify or Open accepted the bundle with these
// values as the expectations.
type headerHint struct {
	Kid string `json:"kid"`
	Prj string `json:"prj"`
	Env string `json:"env"`
	Aud string `json:"aud"`
	Ver uint64 `json:"ver"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

func (h headerHint) audience() (ir.Audience, error) {
	switch h.Aud {
	case "server":
		return ir.AudienceServer, nil
	case "client":
		return ir.AudienceClient, nil
	}
	return 0, fmt.Errorf("read bundle header: unknown audience %q: %w", h.Aud, envelope.ErrMalformed)
}

// peekHeader decodes an envelope's protected header without verifying it.
func peekHeader(data []byte) (headerHint, error) {
	data = bytes.TrimSpace(data)
	i := bytes.IndexByte(data, '.')
	if i < 0 {
		return headerHint{}, fmt.Errorf("read bundle header: not a compact JWS: %w", envelope.ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(data[:i]))
	if err != nil || len(raw) > envelope.MaxHeader {
		return headerHint{}, fmt.Errorf("read bundle header: bad base64 or too long: %w", envelope.ErrMalformed)
	}
	var h headerHint
	if err := json.Unmarshal(raw, &h); err != nil {
		return headerHint{}, fmt.Errorf("read bundle header: %v: %w", err, envelope.ErrMalformed)
	}
	return h, nil
}

// openWithOwnClaims verifies and opens an envelope against jwks, expecting
// the project, environment and audience its header names: the signature
// check makes those claims trustworthy (a bundle re-labelled by someone
// without the key fails). now is the verification time.
func openWithOwnClaims(data []byte, jwks []jose.JSONWebKey, now time.Time) (*envelope.Bundle, error) {
	h, err := peekHeader(data)
	if err != nil {
		return nil, err
	}
	aud, err := h.audience()
	if err != nil {
		return nil, err
	}
	b, err := envelope.Open(data, envelope.Trust{
		Keys: jwks, Project: h.Prj, Environment: h.Env, Audience: aud, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	return b, nil
}

// verifyPayload checks an envelope's signature against jwks and returns its
// claims and IR encoding. The validity period is checked at the bundle's
// own issue time: callers (rollback, diff) read old published versions
// whose signatures matter, not whether they are still servable.
func verifyPayload(data []byte, jwks []jose.JSONWebKey) (*envelope.Verified, error) {
	h, err := peekHeader(data)
	if err != nil {
		return nil, err
	}
	aud, err := h.audience()
	if err != nil {
		return nil, err
	}
	v, err := envelope.Verify(data, envelope.Trust{
		Keys: jwks, Project: h.Prj, Environment: h.Env, Audience: aud,
		Now: time.Unix(h.Iat, 0).UTC(),
	})
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	return v, nil
}

// maxUnverified bounds the decompressed payload of bundles read without
// verification.
const maxUnverified = envelope.DefaultMaxDecompressed

// decodeUnverified decodes an envelope's payload without checking its
// signature (diff and publish summaries of a store the caller already
// trusts, when no JWKS is given). Sizes are still limited.
func decodeUnverified(data []byte) (*ir.Bundle, error) {
	parts := bytes.Split(bytes.TrimSpace(data), []byte("."))
	if len(parts) != 3 {
		return nil, fmt.Errorf("decode bundle: not a compact JWS: %w", envelope.ErrMalformed)
	}
	if len(parts[1]) > envelope.DefaultMaxCompressed*4/3+4 {
		return nil, fmt.Errorf("decode bundle: %w", envelope.ErrTooLarge)
	}
	comp, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return nil, fmt.Errorf("decode bundle: payload: %v: %w", err, envelope.ErrMalformed)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxUnverified), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(comp, nil)
	if err != nil {
		return nil, fmt.Errorf("decode bundle: decompress: %v: %w", err, envelope.ErrMalformed)
	}
	b, err := ir.Decode(raw, ir.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}

// readBundle reads a published bundle's IR: verified against jwks when
// given, otherwise decoded without verification.
func readBundle(data []byte, jwks []jose.JSONWebKey) (*ir.Bundle, error) {
	if jwks == nil {
		return decodeUnverified(data)
	}
	v, err := verifyPayload(data, jwks)
	if err != nil {
		return nil, err
	}
	b, err := ir.Decode(v.Payload, ir.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}

// loadJWKS loads a JWKS file; "" gives nil.
func loadJWKS(path string) ([]jose.JSONWebKey, error) {
	if path == "" {
		return nil, nil
	}
	ks, err := keys.LoadJWKS(path)
	if err != nil {
		return nil, fmt.Errorf("load JWKS: %w", err)
	}
	return ks, nil
}

// readFile reads a file, reporting a missing one as a usage error.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, invalidf("read %s: no such file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
