package compile

import (
	"errors"
	"fmt"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// Payload encodes a bundle that Build returned and checks the encoding the
// way a verifier with default limits will open it (seal.Preflight: size
// before and after compression, decoding, loading). A problem is an error
// at the environment's declaration, since it belongs to the bundle as a
// whole; Build already reported the counts it can place more precisely.
func Payload(doc *config.Document, b *ir.Bundle) ([]byte, Diagnostics) {
	var ds Diagnostics
	pos, path := envDecl(doc, b.Environment)
	enc, err := ir.Encode(b)
	if err != nil {
		ds.Add(pos, path, "the %s %s bundle does not encode: %v", b.Environment, b.Audience, err)
		return nil, ds
	}
	if err := seal.Preflight(enc); err != nil {
		var ue *seal.UnverifiableError
		if errors.As(err, &ue) {
			ds.Add(pos, path, "the %s %s bundle would be refused by verifiers: %s", b.Environment, b.Audience, ue.Reason)
		} else {
			ds.Add(pos, path, "check the %s %s bundle: %v", b.Environment, b.Audience, err)
		}
		return nil, ds
	}
	return enc, ds
}

// envDecl is where an environment is declared.
func envDecl(doc *config.Document, env string) (config.Pos, string) {
	for i, e := range doc.Environments {
		if e.Name == env {
			return e.Pos, fmt.Sprintf("environments[%d]", i)
		}
	}
	return doc.ProjectPos, "environments"
}
