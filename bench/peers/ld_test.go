package peers

// engine=ld: LaunchDarkly's server-side evaluator
// (go-server-sdk-evaluation) on flags parsed by its own data-model JSON
// reader, which also preprocesses each flag as the SDK's data store does.

import (
	"fmt"
	"testing"

	"github.com/launchdarkly/go-jsonstream/v3/jreader"
	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	evaluation "github.com/launchdarkly/go-server-sdk-evaluation/v3"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
)

// ldFlags is the SDK's in-memory store reduced to what the evaluator
// asks of it: flags by key (the peer set has no segments or
// prerequisites). order keeps the document's key order for bulk
// evaluation.
type ldFlags struct {
	byKey map[string]*ldmodel.FeatureFlag
	order []string
}

func (s *ldFlags) GetFeatureFlag(key string) *ldmodel.FeatureFlag { return s.byKey[key] }
func (s *ldFlags) GetSegment(string) *ldmodel.Segment             { return nil }

// parseLD reads an LD {"flags": {...}, "segments": {...}} document.
func parseLD(doc []byte) (*ldFlags, error) {
	s := &ldFlags{byKey: map[string]*ldmodel.FeatureFlag{}}
	r := jreader.NewReader(doc)
	for top := r.Object(); top.Next(); {
		if string(top.Name()) != "flags" {
			if err := r.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		for flags := r.Object(); flags.Next(); {
			key := string(flags.Name())
			f := ldmodel.UnmarshalFeatureFlagFromJSONReader(&r)
			s.byKey[key] = &f
			s.order = append(s.order, key)
		}
	}
	if err := r.Error(); err != nil {
		return nil, fmt.Errorf("parse ld flags: %w", err)
	}
	return s, nil
}

type ldEngine struct {
	basic, bulk *ldFlags
	eval, evalB evaluation.Evaluator
}

// newLD loads BasicSet and bulk.
func newLD(tb testing.TB, bulkSet Set) peerEngine {
	basic, err := parseLD(LDDocument(BasicSet))
	if err != nil {
		tb.Fatal(err)
	}
	bulk, err := parseLD(LDDocument(bulkSet))
	if err != nil {
		tb.Fatal(err)
	}
	return &ldEngine{basic: basic, bulk: bulk, eval: evaluation.NewEvaluator(basic), evalB: evaluation.NewEvaluator(bulk)}
}

// ldContextOf builds a user context; ints stay ints, as an application
// would set them.
func ldContextOf(a Attrs) ldcontext.Context {
	key, _ := a["targetingKey"].(string)
	bld := ldcontext.NewBuilder(key)
	for name, v := range a {
		switch v := v.(type) {
		case string:
			if name != "targetingKey" {
				bld.SetString(name, v)
			}
		case int:
			bld.SetInt(name, v)
		}
	}
	return bld.Build()
}

func (*ldEngine) label() string { return "ld" }

func (e *ldEngine) boolValue(key string, a Attrs) bool {
	return e.eval.Evaluate(e.basic.byKey[key], ldContextOf(a), nil).Detail.Value.BoolValue()
}

func (e *ldEngine) stringValue(key string, a Attrs) string {
	return e.eval.Evaluate(e.basic.byKey[key], ldContextOf(a), nil).Detail.Value.StringValue()
}

func (e *ldEngine) all(a Attrs) map[string]any {
	out := map[string]any{}
	c := ldContextOf(a)
	for _, k := range e.bulk.order {
		out[k] = e.evalB.Evaluate(e.bulk.byKey[k], c, nil).Detail.Value.AsArbitraryValue()
	}
	return out
}

func (e *ldEngine) benchF1(b *testing.B) {
	f, c := e.basic.byKey["f1"], ldContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if !e.eval.Evaluate(f, c, nil).Detail.Value.BoolValue() {
			b.Fatal("f1 is not true")
		}
	}
	cpu.report(b)
}

func (e *ldEngine) benchF2(b *testing.B) {
	f, c := e.basic.byKey["f2"], ldContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v := e.eval.Evaluate(f, c, nil).Detail.Value.StringValue(); v != "senior" {
			b.Fatalf("f2 = %q", v)
		}
	}
	cpu.report(b)
}

func (e *ldEngine) benchF3(b *testing.B) {
	f, c := e.basic.byKey["f3"], ldContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if !e.eval.Evaluate(f, c, nil).Detail.Value.IsBool() {
			b.Fatal("f3 is not a boolean")
		}
	}
	cpu.report(b)
}

// benchAll evaluates every flag into a fresh map of results, what an
// all-flags (bootstrap) endpoint does with this evaluator.
func (e *ldEngine) benchAll(b *testing.B) {
	c := ldContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		res := make(map[string]evaluation.Result, len(e.bulk.order))
		for _, k := range e.bulk.order {
			res[k] = e.evalB.Evaluate(e.bulk.byKey[k], c, nil)
		}
		if len(res) != BulkSet.Copies || res["f2_042"].Detail.Value.StringValue() != "senior" {
			b.Fatal("the bulk results are wrong")
		}
	}
	cpu.report(b)
}

// benchLDLoad is Load's engine=ld: parse a document of n flags.
func benchLDLoad(b *testing.B, doc []byte, n int) {
	cpu := startCPU()
	for b.Loop() {
		s, err := parseLD(doc)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.byKey) != n {
			b.Fatalf("loaded %d flags of %d", len(s.byKey), n)
		}
	}
	cpu.report(b)
}
