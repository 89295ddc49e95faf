package diffgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/cli"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// ProbesPerProgram is how many contexts a program draws after its config.
const ProbesPerProgram = 40

// Program is one generator input made into a config and compiled as the
// publisher compiles it (config.Parse, compile.Build, compile.Payload) for
// environment prod, audience server.
type Program struct {
	// Config is the flags-as-code document (JSON).
	Config []byte
	// Bundle is the compiled bundle, Payload its checked encoding.
	Bundle  *ir.Bundle
	Payload []byte
	// Version is the bundle version to seal it with.
	Version uint64
	g       *Gen
}

// Compile makes data into a program; false when the generated config does
// not compile (the generator makes some invalid ones on purpose).
func Compile(data []byte) (*Program, bool) {
	g := New(data)
	cfg := g.Config()
	doc, ds := config.Parse([]config.File{{Name: "gen.json", Data: cfg}})
	if ds.HasErrors() {
		return nil, false
	}
	b, ds := compile.Build(doc, "prod", ir.AudienceServer)
	if ds.HasErrors() {
		return nil, false
	}
	enc, ds := compile.Payload(doc, b)
	if ds.HasErrors() {
		return nil, false
	}
	return &Program{Config: cfg, Bundle: b, Payload: enc, Version: 1 + uint64(g.N(1000)), g: g}, true
}

// Probe is one drawn evaluation: a context, and, when encoding/json reads
// it, a time, a flag key and a type to evaluate with.
type Probe struct {
	// Context is the context as JSON text.
	Context []byte
	// Parsed is Context decoded by encoding/json, as `edgeflag eval` reads
	// it; nil when encoding/json refuses it (a number beyond float64), and
	// then Now, Key and Type are unset.
	Parsed map[string]any
	// Now is the evaluation time: base plus up to about 43 days.
	Now time.Time
	// Key is one of keys or "nope" (a flag the bundle lacks).
	Key string
	// Type is 0 (evaluate as declared) or the type the caller expects.
	Type ir.FlagType
}

// Probe draws the next evaluation; keys are the bundle's flag keys.
func (p *Program) Probe(keys []string, base time.Time) Probe {
	g := p.g
	pr := Probe{Context: g.Context()}
	if err := json.Unmarshal(pr.Context, &pr.Parsed); err != nil {
		pr.Parsed = nil
		return pr
	}
	pr.Now = base.Add(time.Duration(g.N(1<<16)) * time.Hour / 64).Add(time.Duration(g.N(1e6)))
	pr.Key = g.Pick(append(keys[:len(keys):len(keys)], "nope"))
	pr.Type = ir.FlagType(g.N(5))
	return pr
}

// Inputs is a fixed pseudo-random stream of generator inputs.
type Inputs struct{ rng *rand.Rand }

// NewInputs starts the stream of seed.
func NewInputs(seed1, seed2 uint64) *Inputs {
	return &Inputs{rng: rand.New(rand.NewPCG(seed1, seed2))}
}

// Next is the stream's next input: 8 to 71 bytes.
func (in *Inputs) Next() []byte {
	data := make([]byte, 8+in.rng.IntN(64))
	for j := range data {
		data[j] = byte(in.rng.UintN(256))
	}
	return data
}

// NativeLine is what `edgeflag eval` prints for rs (its cli.ResultJSON
// through encoding/json without HTML escaping, no newline): one object, or
// with array the JSON array of the objects (what the wasm ABI's
// ef_evaluate_all returns).
func NativeLine(rs []eval.Result, array bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var out []byte
	if array {
		out = append(out, '[')
	}
	for i, r := range rs {
		buf.Reset()
		if err := enc.Encode(cli.ResultJSON{Key: r.Key, Value: r.Value, Variant: r.Variant, Reason: string(r.Reason),
			ErrorCode: string(r.ErrorCode), RuleID: r.RuleID, Version: r.Version}); err != nil {
			return nil, fmt.Errorf("encode result %s: %w", r.Key, err)
		}
		if array && i > 0 {
			out = append(out, ',')
		}
		out = append(out, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	if array {
		out = append(out, ']')
	}
	return out, nil
}
