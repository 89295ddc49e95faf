package eval_test

// Benchmarks of the peer flag set (benchgen.Peer: the flags the peer
// engines' benchmarks in bench/peers define) written as flags-as-code and taken through
// the publisher's pipeline:
// YAML -> config.Parse -> compile.Build -> ir.Encode -> ir.Decode ->
// eval.Load. They measure what users run, where the engine owner's
// BenchmarkEval/BenchmarkLoad in bench_test.go measure hand-built IR. The
// engine label is "edgeflag-yaml" so both pivot as separate columns next to
// the peers with `benchstat -col /engine` (docs/performance.md).

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

const peerEngine = "engine=edgeflag-yaml"

var (
	peerNow  = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	peerSink eval.Result
)

// peerContext is the peers' context (benchgen.PeerContext).
func peerContext() eval.Context { return benchgen.PeerContext() }

// peerEncoded compiles benchgen.Peer for the server audience and encodes it.
func peerEncoded(tb testing.TB, basics bool, n int, keyFmt string) []byte {
	tb.Helper()
	return benchgen.Encode(tb, benchgen.Peer(basics, n, keyFmt, false), ir.AudienceServer)
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

// TestPeerFlagSemantics checks that the compiled peer set behaves as the
// peer benchmarks define it (bench/peers' TestPeerSemantics): the values the
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
	// Within 2.5 percentage points, as the peers' semantics tests allow.
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
		cpu := benchmetric.CPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f1", ctx, peerNow); peerSink.Value != true {
				b.Fatal(peerSink)
			}
		}
		benchmetric.ReportCPU(b, cpu)
	})
	b.Run("F2/"+peerEngine, func(b *testing.B) {
		b.ReportAllocs()
		cpu := benchmetric.CPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f2", ctx, peerNow); peerSink.Value != "senior" {
				b.Fatal(peerSink)
			}
		}
		benchmetric.ReportCPU(b, cpu)
	})
	b.Run("F3/"+peerEngine, func(b *testing.B) {
		b.ReportAllocs()
		cpu := benchmetric.CPU()
		for b.Loop() {
			if peerSink = e.Evaluate("f3", ctx, peerNow); peerSink.Reason != eval.ReasonSplit {
				b.Fatal(peerSink)
			}
		}
		benchmetric.ReportCPU(b, cpu)
	})
	bulk := peerEngineOf(b, peerEncoded(b, false, 100, "f2_%03d"))
	b.Run("F100all/"+peerEngine, func(b *testing.B) {
		// A result per flag, into a buffer the caller reuses (the API's
		// append form); the peers build a fresh map per call.
		out := make([]eval.Result, 0, 100)
		b.ReportAllocs()
		cpu := benchmetric.CPU()
		for b.Loop() {
			out = bulk.EvaluateAll(ctx, peerNow, out[:0])
			if len(out) != 100 || out[42].Key != "f2_042" || out[42].Value != "senior" {
				b.Fatal(out)
			}
		}
		benchmetric.ReportCPU(b, cpu)
	})
}

// BenchmarkLoad measures what the peers' Load measures (their config
// bytes into a ready engine): eval.LoadEncoded (decode + validate +
// index) of the encoded bundle of 1 000 and 10 000 F2-like flags; each op
// then evaluates the last flag. Signature and zstd are added by
// envelope.Open (BenchmarkOpenFlags in bundle/envelope).
// Load{1,10}kRealistic (realistic_bench_test.go) load flags that all differ.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		data := peerEncoded(b, false, n, "f2_%05d")
		last, ctx := fmt.Sprintf("f2_%05d", n-1), peerContext()
		b.Run(fmt.Sprintf("Load%dk/%s", n/1000, peerEngine), func(b *testing.B) {
			benchLoadEncoded(b, data, n, func(e *eval.Engine) bool { return e.Evaluate(last, ctx, peerNow).Value == "senior" })
		})
	}
	benchLoadRealistic(b) // realistic_bench_test.go
}

// benchLoadEncoded runs eval.LoadEncoded of data (n flags) per op, checks
// each engine with ok, and reports CPU per op and the heap an engine
// retains per flag.
func benchLoadEncoded(b *testing.B, data []byte, n int, ok func(*eval.Engine) bool) {
	load := func() *eval.Engine {
		e, err := eval.LoadEncoded(data, ir.DefaultLimits(), 1)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu := benchmetric.CPU()
	for b.Loop() {
		if e := load(); !ok(e) {
			b.Fatal("the loaded engine evaluates wrongly")
		}
	}
	benchmetric.ReportCPU(b, cpu)
	benchmetric.ReportRetained(b, n, "flag", func() any { return load() })
}
