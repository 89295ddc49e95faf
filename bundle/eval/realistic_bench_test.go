package eval_test

// Load benchmarks of 1 000 and 10 000 realistic flags (internal/benchgen):
// every flag has its own variant values, rule names, constants and split
// weights, so nothing is shared between flags that a real flag file would
// not share. The load target is judged on these (docs/performance.md).

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
)

// benchLoadRealistic adds Load1kRealistic and Load10kRealistic to
// BenchmarkLoad: eval.LoadEncoded per op; each op then checks one probe
// (a context built to match a flag's first rule).
func benchLoadRealistic(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		data := benchgen.RealisticEncoded(b, n, ir.AudienceServer)
		probes := benchgen.Realistic(n).Probes
		p := probes[len(probes)/2]
		b.Run(fmt.Sprintf("Load%dkRealistic/%s", n/1000, peerEngine), func(b *testing.B) {
			benchLoadEncoded(b, data, n, func(e *eval.Engine) bool { return e.Evaluate(p.Flag, p.Context, peerNow).RuleID == p.RuleID })
		})
	}
}

// TestRealisticFlags checks that the realistic set differs flag by flag
// and that each flag's own constants decide its result: every probe
// matches its own flag's first rule, and a probe built for one flag
// rarely matches another flag's first rule.
func TestRealisticFlags(t *testing.T) {
	const n = 2000
	set, bd := benchgen.RealisticBundle(t, n, ir.AudienceServer)
	if len(bd.Flags) != n {
		t.Fatalf("compiled %d flags, want %d", len(bd.Flags), n)
	}
	e := peerEngineOf(t, mustEncode(t, bd))
	types := map[ir.FlagType]int{}
	values, scalarVariants := map[string]bool{}, 0
	ruleIDs, rules := map[string]bool{}, 0
	for _, f := range bd.Flags {
		types[f.Type]++
		if f.Type != ir.TypeBoolean {
			for _, v := range f.Variants {
				values[string(v.Value)] = true
				scalarVariants++
			}
		}
		for _, r := range f.Rules {
			ruleIDs[r.ID] = true
			rules++
		}
	}
	for _, typ := range []ir.FlagType{ir.TypeBoolean, ir.TypeString, ir.TypeNumber, ir.TypeObject} {
		if types[typ] < n/20 {
			t.Errorf("only %d %s flags of %d", types[typ], typ, n)
		}
	}
	// Non-boolean variant values are almost all distinct (numbers may
	// repeat by chance); rule names repeat (a vocabulary, as real teams
	// reuse "beta-users"), but not only a handful.
	if len(values) < scalarVariants*9/10 {
		t.Errorf("%d distinct values among %d non-boolean variants", len(values), scalarVariants)
	}
	if len(ruleIDs) < 16 || rules < n {
		t.Errorf("%d rules, %d distinct rule IDs", rules, len(ruleIDs))
	}
	// Constants: conditions hold their own domains, lists and thresholds
	// (plans and platforms come from small vocabularies and are interned,
	// as the compiler does for any bundle; 2 000 peer flags have 6).
	if len(bd.Consts) < rules/3 {
		t.Errorf("%d constants for %d rules: conditions share their constants", len(bd.Consts), rules)
	}
	if len(set.Probes) < n/2 {
		t.Fatalf("only %d probes", len(set.Probes))
	}
	for _, p := range set.Probes {
		r := e.Evaluate(p.Flag, p.Context, peerNow)
		if r.RuleID != p.RuleID || (p.Variant != "" && r.Variant != p.Variant) {
			t.Fatalf("probe for %s: got rule %q variant %q (%s %s), want rule %q variant %q",
				p.Flag, r.RuleID, r.Variant, r.Reason, r.ErrorCode, p.RuleID, p.Variant)
		}
	}
	cross := 0
	for i, p := range set.Probes {
		q := set.Probes[(i+1)%len(set.Probes)]
		if e.Evaluate(q.Flag, p.Context, peerNow).RuleID == q.RuleID {
			cross++
		}
	}
	if cross > len(set.Probes)/4 {
		t.Errorf("%d of %d probes also match the next flag's first rule: the flags do not differ enough", cross, len(set.Probes))
	}
}

func mustEncode(tb testing.TB, b *ir.Bundle) []byte {
	tb.Helper()
	data, err := ir.Encode(b)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestLoadEncodedMatchesLoad checks that LoadEncoded and ir.Decode +
// eval.Load build engines that evaluate every realistic flag alike, for
// the probes and for ordinary contexts, and that both refuse a broken
// encoding with the decoder's sentinel.
func TestLoadEncodedMatchesLoad(t *testing.T) {
	set, bd := benchgen.RealisticBundle(t, 2000, ir.AudienceServer)
	data := mustEncode(t, bd)
	enc, err := eval.LoadEncoded(data, ir.Limits{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := ir.Decode(data, ir.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := eval.Load(dec, 3)
	if err != nil {
		t.Fatal(err)
	}
	contexts := []eval.Context{benchgen.Context(1), benchgen.Context(2), {}}
	for _, p := range set.Probes[:200] {
		contexts = append(contexts, p.Context)
	}
	want := make([][]eval.Result, len(contexts))
	for i, c := range contexts {
		want[i] = loaded.EvaluateAll(c, peerNow, nil)
	}
	for i, c := range contexts {
		if got := enc.EvaluateAll(c, peerNow, nil); !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("context %d: LoadEncoded and Load disagree", i)
		}
	}
	if _, err := eval.LoadEncoded(data[:len(data)-1], ir.Limits{}, 3); !errors.Is(err, eval.ErrInvalidBundle) || !errors.Is(err, ir.ErrTruncated) {
		t.Fatalf("truncated encoding: %v", err)
	}
}
