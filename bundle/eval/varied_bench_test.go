package eval_test

// Load benchmarks of 10 000 (and 1 000) F2-like flags that all differ.
// The peer set's flags are byte-identical, so ir.Decode hands every flag
// the same rule and variant slices and eval.Load prepares them once: that
// flatters Load10k. Here every flag has its own email domain, age
// threshold, country pair and split weights, so nothing is shared and the
// numbers are what a real flag file costs (docs/performance.md).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// variedYAML returns n F2-like flags f2_00000... where flag i serves
// internal for "@d<i>.example" emails, pro-na for its own pair of country
// codes with plan "pro", senior for age >= 18+i%60, and otherwise splits
// a/b with weights 1+i%99 and 99-i%99.
func variedYAML(n int) []byte {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [production]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	for i := 0; i < n; i++ {
		c1 := string([]byte{'A' + byte(i%26), 'A' + byte(i/26%26)})
		c2 := string([]byte{'A' + byte(i/26%26), 'A' + byte(i%26), 'X'})
		wa := 1 + i%99
		fmt.Fprintf(&sb, "  f2_%05d:\n    type: string\n"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@d%d.example\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"%s\", \"%s\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= %d', serve: senior}\n"+
			"        default: {split: {a: %d, b: %d}}\n", i, i, c1, c2, 18+i%60, wa, 100-wa)
	}
	return []byte(sb.String())
}

// variedEncoded compiles variedYAML(n) for the server audience and encodes it.
func variedEncoded(tb testing.TB, n int) []byte {
	tb.Helper()
	return encodeYAML(tb, variedYAML(n))
}

// benchLoadVaried adds Load1kVaried and Load10kVaried to BenchmarkLoad:
// ir.Decode + eval.Load per op, then one evaluation is checked. Flag 7's
// threshold is age >= 25, so the peer context (age 42, other domain,
// country FR) gets senior from r-senior.
func benchLoadVaried(b *testing.B) {
	ctx := peerContext()
	for _, n := range []int{1000, 10000} {
		data := variedEncoded(b, n)
		b.Run(fmt.Sprintf("Load%dkVaried/%s", n/1000, peerEngine), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := processCPU()
			for b.Loop() {
				bd, err := ir.Decode(data, ir.DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				e, err := eval.Load(bd, 1)
				if err != nil || len(e.Keys()) != n {
					b.Fatal(err)
				}
				if r := e.Evaluate("f2_00007", ctx, peerNow); r.Value != "senior" || r.RuleID != "r-senior" {
					b.Fatal(r)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// TestVariedFlags checks that the varied set really differs per flag:
// each flag's own domain, country pair and threshold decide its result.
func TestVariedFlags(t *testing.T) {
	e := peerEngineOf(t, variedEncoded(t, 100))
	if r := e.Evaluate("f2_00005", eval.Context{"targetingKey": "k", "email": "x@d5.example"}, peerNow); r.Value != "internal" {
		t.Fatalf("own domain: %+v", r)
	}
	if r := e.Evaluate("f2_00006", eval.Context{"targetingKey": "k", "email": "x@d5.example", "age": 1}, peerNow); r.Reason != eval.ReasonSplit {
		t.Fatalf("other flag's domain: %+v", r)
	}
	if r := e.Evaluate("f2_00027", eval.Context{"targetingKey": "k", "country": "BB", "plan": "pro"}, peerNow); r.Value != "pro-na" {
		t.Fatalf("own country pair: %+v", r)
	}
	if r := e.Evaluate("f2_00030", eval.Context{"targetingKey": "k", "age": 48}, peerNow); r.Value != "senior" {
		t.Fatalf("own threshold 48: %+v", r)
	}
	if r := e.Evaluate("f2_00030", eval.Context{"targetingKey": "k", "age": 47}, peerNow); r.Reason != eval.ReasonSplit {
		t.Fatalf("below own threshold 48: %+v", r)
	}
	// Weights differ: flag 0 serves a to ~1 %, flag 98 to ~99 %.
	a0, a98 := 0, 0
	for i := 0; i < 2000; i++ {
		c := eval.Context{"targetingKey": fmt.Sprintf("u%d", i)}
		if e.Evaluate("f2_00000", c, peerNow).Value == "a" {
			a0++
		}
		if e.Evaluate("f2_00098", c, peerNow).Value == "a" {
			a98++
		}
	}
	if a0 > 100 || a98 < 1900 {
		t.Fatalf("split shares a: flag 0 %d/2000, flag 98 %d/2000", a0, a98)
	}
}
