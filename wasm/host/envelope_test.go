package host

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/conformance"
)

// wasmOpener opens envelope vectors in the module: the vector's trust
// (JWKS text byte for byte) through ef_set_trust, the bundle through
// ef_open, the flag keys from ef_evaluate_all.
type wasmOpener struct {
	h *Host
}

func (w wasmOpener) OpenVector(v *conformance.EnvelopeVector) (conformance.Opened, error) {
	ctx := context.Background()
	vt := v.Trust
	now, err := time.Parse(time.RFC3339Nano, vt.Now)
	if err != nil {
		return conformance.Opened{}, err
	}
	tr := Trust{JWKS: []byte(vt.JWKS), Algorithms: vt.Algorithms, Project: vt.Project, Environment: vt.Environment,
		Audience: vt.Audience, Grace: time.Duration(vt.GraceSeconds) * time.Second,
		MaxSkew: time.Duration(vt.MaxSkewSeconds) * time.Second, LastVersion: vt.LastVersion,
		MaxCompressed: vt.MaxCompressed, MaxDecompressed: vt.MaxDecompressed}
	if err := w.h.SetTrust(ctx, tr); err != nil {
		return rejection(err)
	}
	c, err := w.h.Open(ctx, []byte(v.Bundle), now)
	if err != nil {
		return rejection(err)
	}
	rs, err := w.h.EvaluateAll(ctx, nil, now)
	if err != nil {
		return conformance.Opened{}, err
	}
	o := conformance.Opened{Claims: &conformance.VectorClaims{Algorithm: c.Algorithm, KeyID: c.KeyID, Project: c.Project,
		Environment: c.Environment, Audience: c.Audience, Version: c.Version,
		IssuedAt:  time.Unix(c.IssuedAt, 0).UTC().Format(time.RFC3339),
		ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC().Format(time.RFC3339)}}
	for _, r := range rs {
		o.Flags = append(o.Flags, r.Key)
	}
	if c.Flags != len(rs) {
		return conformance.Opened{}, errors.New("open reports a flag count other than evaluate all's")
	}
	return o, nil
}

func rejection(err error) (conformance.Opened, error) {
	var e *Error
	if errors.As(err, &e) {
		return conformance.Opened{Error: e.Name}, nil
	}
	return conformance.Opened{}, err
}

// TestEnvelopeVectorsOnWazero replays every envelope vector on every
// module: the shipped ones (EdDSA only, standard Go and TinyGo: vectors
// that need ES256 must be refused with ErrAlgorithm) and the ES256 build
// (every vector as expected). Each vector resets the trust, so the module's raised last
// version does not carry over.
func TestEnvelopeVectorsOnWazero(t *testing.T) {
	s, err := conformance.LoadEnvelopeFile(filepath.Join(corpusDir(t), "envelope", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(modules, es256Build) {
		t.Run(moduleName(m), func(t *testing.T) {
			fails := conformance.RunEnvelope(s, wasmOpener{newHost(t, m, Options{Instances: 1})}, m == es256Build)
			for _, f := range fails {
				t.Error(f)
			}
			if len(s.Vectors) < 40 {
				t.Fatalf("%d vectors, the file has at least 40", len(s.Vectors))
			}
		})
	}
}
