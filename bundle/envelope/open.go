package envelope

import (
	"fmt"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Bundle is an opened envelope: its verified claims, the decoded IR and an
// engine ready to evaluate it.
type Bundle struct {
	Claims Claims
	IR     *ir.Bundle
	Engine *eval.Engine
}

// Open verifies data against t (see Verify), decodes the payload with
// ir.Decode under t.Limits, checks that the decoded bundle is for the
// project, environment and audience its claims name, and loads it into an
// engine with the claimed version. Rejections match exactly one of the
// package's sentinel errors; payload problems match ErrPayload.
func Open(data []byte, t Trust) (*Bundle, error) {
	v, err := Verify(data, t)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	b, err := ir.Decode(v.Payload, t.Limits)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", reject(ErrPayload, "decode IR: %v", err))
	}
	c := v.Claims
	if b.Project != c.Project || b.Environment != c.Environment || b.Audience != c.Audience {
		return nil, fmt.Errorf("open bundle: %w", reject(ErrPayload,
			"payload is for %s/%s (%s), claims say %s/%s (%s)",
			b.Project, b.Environment, b.Audience, c.Project, c.Environment, c.Audience))
	}
	e, err := eval.Load(b, c.Version)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", reject(ErrPayload, "load: %v", err))
	}
	return &Bundle{Claims: c, IR: b, Engine: e}, nil
}

// SealBundle encodes b with ir.Encode and seals it. The project,
// environment and audience claims are taken from b; c supplies the
// version and validity period (its other fields are ignored).
func SealBundle(b *ir.Bundle, c Claims, s Signer) ([]byte, error) {
	payload, err := ir.Encode(b)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	c.Project, c.Environment, c.Audience = b.Project, b.Environment, b.Audience
	return Seal(payload, c, s)
}
