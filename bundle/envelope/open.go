package envelope

import (
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
// engine with the claimed version (step 10). Rejections match exactly one
// of the package's sentinel errors; payload problems match ErrPayload.
func Open(data []byte, t Trust) (*Bundle, error) {
	v, err := Verify(data, t)
	if err != nil {
		return nil, err
	}
	b, err := ir.Decode(v.Payload, t.Limits)
	if err != nil {
		return nil, reject(ErrPayload, err.Error())
	}
	c := v.Claims
	if b.Project != c.Project || b.Environment != c.Environment || b.Audience != c.Audience {
		return nil, reject(ErrPayload, "payload is for "+quote(b.Project)+"/"+quote(b.Environment)+
			" ("+b.Audience.String()+"), claims say "+quote(c.Project)+"/"+quote(c.Environment)+" ("+c.Audience.String()+")")
	}
	e, err := eval.Load(b, c.Version)
	if err != nil {
		return nil, reject(ErrPayload, err.Error())
	}
	return &Bundle{Claims: c, IR: b, Engine: e}, nil
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
