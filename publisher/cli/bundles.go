package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/safefile"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/kms"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// loadSigner returns the signer named by --key (a private JWK file) or
// --kms-key (an AWS KMS key id or ARN); exactly one must be given.
func loadSigner(ctx context.Context, keyPath, kmsKey string) (seal.Signer, error) {
	switch {
	case keyPath != "" && kmsKey != "":
		return seal.Signer{}, invalidf("give either --key or --kms-key, not both")
	case keyPath != "":
		k, err := keys.LoadPrivate(keyPath)
		if err != nil {
			return seal.Signer{}, err
		}
		s, err := keys.Signer(k)
		if err != nil {
			return seal.Signer{}, fmt.Errorf("load signing key: %w", err)
		}
		return s, nil
	case kmsKey != "":
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return seal.Signer{}, fmt.Errorf("load AWS config: %w", err)
		}
		ks, err := kms.New(ctx, awskms.NewFromConfig(cfg), kmsKey)
		if err != nil {
			return seal.Signer{}, fmt.Errorf("open KMS key: %w", err)
		}
		kid, err := keys.Thumbprint(ks.Public())
		if err != nil {
			return seal.Signer{}, fmt.Errorf("open KMS key: %w", err)
		}
		return seal.Signer{KeyID: kid, Key: ks}, nil
	default:
		return seal.Signer{}, invalidf("a signing key is required: --key KEY or --kms-key ARN")
	}
}

// signerJWKS is the trust set of the signer's own public key.
func signerJWKS(s seal.Signer) ([]envelope.Key, error) {
	k, err := seal.PublicKey(s.KeyID, s.Key.Public())
	if err != nil {
		return nil, fmt.Errorf("describe signing key: %w", err)
	}
	return []envelope.Key{k}, nil
}

// openWithOwnClaims verifies and opens an envelope against jwks, expecting
// the project, environment and audience its header names (read with
// envelope.Peek): the signature check makes those claims trustworthy (a
// bundle re-labelled by someone without the key fails). now is the
// verification time.
func openWithOwnClaims(data []byte, jwks []envelope.Key, now time.Time) (*envelope.Bundle, error) {
	h, err := envelope.Peek(data)
	if err != nil {
		return nil, fmt.Errorf("read bundle header: %w", err)
	}
	return envelope.Open(data, envelope.Trust{
		Keys: jwks, Project: h.Project, Environment: h.Environment, Audience: h.Audience, Now: now,
	})
}

// openIR verifies an envelope as openWithOwnClaims does and returns its
// claims and decoded, validated IR, for commands that show a bundle
// rather than evaluate it.
func openIR(data []byte, jwks []envelope.Key, now time.Time) (envelope.Claims, *ir.Bundle, error) {
	h, err := envelope.Peek(data)
	if err != nil {
		return envelope.Claims{}, nil, fmt.Errorf("read bundle header: %w", err)
	}
	v, err := envelope.Verify(data, envelope.Trust{
		Keys: jwks, Project: h.Project, Environment: h.Environment, Audience: h.Audience, Now: now,
	})
	if err != nil {
		return envelope.Claims{}, nil, err
	}
	b, err := v.DecodeIR(ir.DefaultLimits())
	if err != nil {
		return envelope.Claims{}, nil, err
	}
	return v.Claims, b, nil
}

// verifyPayload checks an envelope's signature against jwks and returns its
// claims and IR encoding. The validity period is checked at the bundle's
// own issue time: callers (rollback, diff) read old published versions
// whose signatures matter, not whether they are still servable.
func verifyPayload(data []byte, jwks []envelope.Key) (*envelope.Verified, error) {
	h, err := envelope.Peek(data)
	if err != nil {
		return nil, fmt.Errorf("read bundle header: %w", err)
	}
	return envelope.Verify(data, envelope.Trust{
		Keys: jwks, Project: h.Project, Environment: h.Environment, Audience: h.Audience,
		Now: h.IssuedAt,
	})
}

// readBundle reads a published bundle's IR: verified against jwks when
// given, otherwise read without verification (diff and publish summaries
// of a store the caller already trusts) — in both cases with the one
// verifier's parser, decompressor and size limits.
func readBundle(data []byte, jwks []envelope.Key) (*ir.Bundle, error) {
	var payload []byte
	if jwks == nil {
		u, err := envelope.ReadUnverified(data)
		if err != nil {
			return nil, fmt.Errorf("read bundle: %w", err)
		}
		payload = u.Payload
	} else {
		v, err := verifyPayload(data, jwks)
		if err != nil {
			return nil, err
		}
		payload = v.Payload
	}
	b, err := ir.Decode(payload, ir.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}

// loadJWKS loads a JWKS file; "" gives nil.
func loadJWKS(path string) ([]envelope.Key, error) {
	if path == "" {
		return nil, nil
	}
	ks, err := keys.LoadJWKS(path)
	if err != nil {
		return nil, fmt.Errorf("load JWKS: %w", err)
	}
	return ks, nil
}

// maxBundleFile bounds a bundle file the CLI reads: the largest envelope
// a verifier with default limits accepts, plus a trailing newline.
const maxBundleFile = int64(envelope.MaxHeader/3*4+8+envelope.DefaultMaxCompressed/3*4+8+128) + 1

// readBundleFile reads a bundle file, reporting a missing one, a FIFO or an
// oversize file as a usage error. One trailing newline (as editors and
// `echo` add) is tolerated; the envelope itself must have none.
func readBundleFile(path string) ([]byte, error) {
	data, err := safefile.Read(path, maxBundleFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, invalidf("read %s: no such file", path)
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		return nil, invalidf("%v", err)
	case err != nil:
		return nil, err
	}
	return bytes.TrimSuffix(data, []byte("\n")), nil
}
