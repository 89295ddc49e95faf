package eval_test

// Benchmarks of the peer flag set (/work/shared/peerbench/flagdefs.go)
// written as flags-as-code and taken through the publisher's pipeline:
// YAML -> config.Parse -> compile.Build -> ir.Encode -> ir.Decode ->
// eval.Load. They measure what users run, where the engine owner's
// BenchmarkEval/BenchmarkLoad in bench_test.go measure hand-built IR. The
// engine label is "edgeflag-yaml" so both pivot as separate columns next to
// the peers with `benchstat -col /engine` (docs/performance.md).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

const peerEngine = "engine=edgeflag-yaml"

var (
	peerNow  = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	peerSink eval.Result
)

// reportCPU reports process CPU nanoseconds per op since start.
func reportCPU(b *testing.B, start int64) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// peerContext is the peers' context (flagdefs.go: CtxKey, CtxEmail, ...):
// it fails F2's rules 1 and 2 and matches rule 3, so F2 walks all three.
func peerContext() eval.Context {
	return eval.Context{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42}
}

// peerYAML returns a flags-as-code file with F1, F2, F3 (when basics) and
// n F2-like flags named by keyFmt, the semantics of peerbench/flagdefs.go.
func peerYAML(basics bool, n int, keyFmt string) []byte {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [production]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	f2 := func(key string) {
		fmt.Fprintf(&sb, "  %s:\n    type: string\n"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@example.com\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"US\", \"CA\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= 30', serve: senior}\n"+
			"        default: {split: {a: 50, b: 50}}\n", key)
	}
	if basics {
		sb.WriteString("  f1:\n    type: boolean\n    defaultVariant: on\n    environments:\n      production: {}\n")
		f2("f2")
		sb.WriteString("  f3:\n    type: boolean\n    environments:\n      production:\n        default: {split: {on: 10, off: 90}}\n")
	}
	for i := 0; i < n; i++ {
		f2(fmt.Sprintf(keyFmt, i))
	}
	return []byte(sb.String())
}

// peerEncoded compiles peerYAML for the server audience and encodes it.
func peerEncoded(tb testing.TB, basics bool, n int, keyFmt string) []byte {
	tb.Helper()
	return encodeYAML(tb, peerYAML(basics, n, keyFmt))
}

// encodeYAML compiles one flags-as-code file for the server audience of
// environment "production" and encodes it, as the publisher does.
func encodeYAML(tb testing.TB, yaml []byte) []byte {
	tb.Helper()
	doc, ds := config.Parse([]config.File{{Name: "flags.yaml", Data: yaml}})
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	b, ds := compile.Build(doc, "production", ir.AudienceServer)
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	data, err := ir.Encode(b)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// peerEngineOf decodes and loads an encoding, as a verifier does.
func peerEngineOf(tb testing.TB, data []byte) *eval.Engine {
	tb.Helper()
	b, err := ir.Decode(data, ir.DefaultLimits())
	if err != nil {
		tb.Fatal(err)
	}
	e, err := eval.Load(b, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestPeerFlagSemantics checks that the compiled peer set behaves like the
// peers' (peerbench TestLDSemantics and friends): the values the
// benchmarks assert, each F2 rule, and the split shares.
func TestPeerFlagSemantics(t *testing.T) {
	e := peerEngineOf(t, peerEncoded(t, true, 0, ""))
	ctx := peerContext()
	if r := e.Evaluate("f1", ctx, peerNow); r.Value != true {
		t.Fatalf("f1: %+v", r)
	}
	if r := e.Evaluate("f2", ctx, peerNow); r.Value != "senior" || r.RuleID != "r-senior" {
		t.Fatalf("f2: %+v", r)
	}
	for i, c := range []struct {
		ctx  eval.Context
		want string
	}{
		{eval.Context{"targetingKey": "k", "email": "x@example.com", "age": 50}, "internal"},
		{eval.Context{"targetingKey": "k", "country": "CA", "plan": "pro", "age": 50}, "pro-na"},
		{eval.Context{"targetingKey": "k", "country": "CA", "plan": "free", "age": 29}, ""},
	} {
		r := e.Evaluate("f2", c.ctx, peerNow)
		if c.want != "" && r.Value != c.want || c.want == "" && r.Reason != eval.ReasonSplit {
			t.Fatalf("check %d: %+v, want %q", i, r, c.want)
		}
	}
	const n = 20000
	on, a := 0, 0
	for i := 0; i < n; i++ {
		c := eval.Context{"targetingKey": fmt.Sprintf("user-%d", i)}
		if e.Evaluate("f3", c, peerNow).Value == true {
			on++
		}
		if e.Evaluate("f2", c, peerNow).Value == "a" {
			a++
		}
	}
	// Within 2.5 percentage points, as peerbench's checkShare allows.
	if p := float64(on) / n; p < 0.075 || p > 0.125 {
		t.Errorf("f3 on share %.4f, want ~0.10", p)
	}
	if p := float64(a) / n; p < 0.475 || p > 0.525 {
		t.Errorf("f2 a share %.4f, want ~0.50", p)
	}
}

// BenchmarkEval evaluates F1, F2, F3 and all 100 F2-like flags with the
// peer context; every iteration's result is checked as the peers do.
func BenchmarkEval(b *testing.B) {
	e := peerEngineOf(b, peerEncoded(b, true, 0, ""))
	ctx := peerContext()
	b.Run("F1/"+peerEngine, func(b *testing.B) {
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f1", ctx, peerNow); peerSink.Value != true {
				b.Fatal(peerSink)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("F2/"+peerEngine, func(b *testing.B) {
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f2", ctx, peerNow); peerSink.Value != "senior" {
				b.Fatal(peerSink)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("F3/"+peerEngine, func(b *testing.B) {
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f3", ctx, peerNow); peerSink.Reason != eval.ReasonSplit {
				b.Fatal(peerSink)
			}
		}
		reportCPU(b, cpu)
	})
	bulk := peerEngineOf(b, peerEncoded(b, false, 100, "f2_%03d"))
	b.Run("F100all/"+peerEngine, func(b *testing.B) {
		// A result per flag, into a buffer the caller reuses (the API's
		// append form); the peers build a fresh map per call.
		out := make([]eval.Result, 0, 100)
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			out = bulk.EvaluateAll(ctx, peerNow, out[:0])
			if len(out) != 100 || out[42].Key != "f2_042" || out[42].Value != "senior" {
				b.Fatal(out)
			}
		}
		reportCPU(b, cpu)
	})
}

// BenchmarkLoad measures what the peers' Load measures (their config
// bytes into a ready engine): ir.Decode + eval.Load (validate + index) of
// the encoded bundle of 1 000 and 10 000 F2-like flags. Signature and
// zstd are added by envelope.Open (BenchmarkOpenFlags in bundle/envelope).
// Load{1,10}kVaried (varied_bench_test.go) load flags that all differ.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		data := peerEncoded(b, false, n, "f2_%05d")
		b.Run(fmt.Sprintf("Load%dk/%s", n/1000, peerEngine), func(b *testing.B) {
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
			}
			reportCPU(b, cpu)
		})
	}
	benchLoadVaried(b) // varied_bench_test.go
}
