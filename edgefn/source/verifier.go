package source

// This file is the only place edgefn calls into bundle/envelope: parsing
// the trusted JWKS, opening (verifying, decompressing, decoding, loading) a
// bundle, and naming a rejection. Keeping it to one file makes a change of
// the verifier's API one edit.

import (
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TrustedKeys are the public keys whose bundles edgefn accepts (the
// publisher's JWKS).
type TrustedKeys struct {
	keys []envelope.Key
}

// Len returns the number of trusted keys.
func (k TrustedKeys) Len() int { return len(k.keys) }

// ParseJWKS parses a JWKS of bundle-signing public keys, strictly: public
// Ed25519 or P-256 keys only, each kid the key's RFC 7638 thumbprint.
func ParseJWKS(data []byte) (TrustedKeys, error) {
	ks, err := envelope.ParseJWKS(data)
	if err != nil {
		return TrustedKeys{}, err
	}
	return TrustedKeys{keys: ks}, nil
}

// opened is a verified, decoded and loaded bundle.
type opened struct {
	version   uint64
	keyID     string
	issuedAt  time.Time
	expiresAt time.Time
	engine    *eval.Engine
	flags     map[string]ir.FlagType
}

// maxSkew is how far in the future a bundle's issue time may be (clock
// difference between publishing machines and edgefn).
const maxSkew = time.Minute

// openBundle verifies data for project/env/aud at now, refusing versions
// below last, and loads it.
func openBundle(data []byte, k TrustedKeys, project, env string, aud ir.Audience, now time.Time, last uint64) (*opened, error) {
	b, err := envelope.Open(data, envelope.Trust{
		Keys: k.keys, Project: project, Environment: env, Audience: aud,
		Now: now, MaxSkew: maxSkew, LastVersion: last,
	})
	if err != nil {
		return nil, err
	}
	keys := b.Engine.Keys()
	flags := make(map[string]ir.FlagType, len(keys))
	for _, k := range keys {
		flags[k], _ = b.Engine.FlagType(k)
	}
	return &opened{
		version: b.Claims.Version, keyID: b.Claims.KeyID,
		issuedAt: b.Claims.IssuedAt, expiresAt: b.Claims.ExpiresAt,
		engine: b.Engine, flags: flags,
	}, nil
}

// rejectionName names the verifier sentinel err matches ("ErrSignature",
// "ErrExpired", ...), or "" when it matches none.
func rejectionName(err error) string { return envelope.ErrorName(err) }
