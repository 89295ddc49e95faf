package envelope

import (
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Bundle is an opened envelope: its verified claims and an engine ready
// to evaluate it. (Tooling that needs the IR itself calls Verify and
// Verified.DecodeIR.)
type Bundle struct {
	Claims Claims
	Engine *eval.Engine
}

// Open verifies data against t (see Verify) and loads the payload into an
// engine with the claimed version, under t.Limits (step 10): the IR is
// decoded and validated flag by flag straight into the engine
// (eval.LoadEncoded), without an intermediate ir.Bundle, and the payload's
// project, environment and audience must equal the signed claims.
// Rejections match exactly one of the package's sentinel errors; payload
// problems match ErrPayload.
func Open(data []byte, t Trust) (*Bundle, error) {
	v, err := Verify(data, t)
	if err != nil {
		return nil, err
	}
	e, err := eval.LoadEncoded(v.Payload, t.Limits, v.Claims.Version)
	if err != nil {
		return nil, reject(ErrPayload, err.Error())
	}
	if err := v.Claims.matchPayload(e.Project(), e.Environment(), e.Audience()); err != nil {
		return nil, err
	}
	return &Bundle{Claims: v.Claims, Engine: e}, nil
}

// DecodeIR decodes and validates the verified payload into an ir.Bundle
// under lim (zero fields: ir.DefaultLimits) and checks it is for the
// project, environment and audience the signed claims name — what Open
// checks, for tooling that inspects or re-seals a bundle rather than
// evaluating it.
func (v *Verified) DecodeIR(lim ir.Limits) (*ir.Bundle, error) {
	b, err := ir.Decode(v.Payload, lim)
	if err == nil {
		err = b.Validate()
	}
	if err != nil {
		return nil, reject(ErrPayload, err.Error())
	}
	if err := v.Claims.matchPayload(b.Project, b.Environment, b.Audience); err != nil {
		return nil, err
	}
	return b, nil
}

// matchPayload checks that a payload is for what the claims name, so a
// correctly signed bundle cannot be replayed under another name.
func (c *Claims) matchPayload(project, env string, aud ir.Audience) error {
	if project == c.Project && env == c.Environment && aud == c.Audience {
		return nil
	}
	return reject(ErrPayload, "payload is for "+quote(project)+"/"+quote(env)+
		" ("+aud.String()+"), claims say "+quote(c.Project)+"/"+quote(c.Environment)+" ("+c.Audience.String()+")")
}

// Unverified is an envelope read without checking its signature or claims.
type Unverified struct {
	Claims  Claims
	Payload []byte
}

// ReadUnverified returns an envelope's header claims and decompressed
// payload WITHOUT checking the signature or any claim, under the default
// size limits, with the same parser and decompressor as Verify. It exists
// for tooling that reads a store it already trusts and has no JWKS (the
// publisher's diff); a runtime must never serve what it returns.
func ReadUnverified(data []byte) (*Unverified, error) {
	p, err := split(data, DefaultMaxCompressed)
	if err != nil {
		return nil, err
	}
	c, err := parseHeaderB64(p.header)
	if err != nil {
		return nil, err
	}
	payload, err := decodeB64(p.payload, "payload")
	if err != nil {
		return nil, err
	}
	raw, err := decompress(payload, DefaultMaxDecompressed)
	if err != nil {
		return nil, err
	}
	return &Unverified{Claims: c, Payload: raw}, nil
}
