package eval

import (
	"fmt"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

var sinkResult Result

// cpuTimer reports process CPU time per op (benchmetric.ReportCPU) next to
// ns/op.
type cpuTimer struct{ start int64 }

func startCPU(b *testing.B) cpuTimer {
	b.ReportAllocs()
	b.ResetTimer()
	return cpuTimer{benchmetric.CPU()}
}

func (c cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	benchmetric.ReportCPU(b, c.start)
}

// BenchmarkEval uses the peer benchmark names (<Case>/engine=edgeflag) so
// that benchstat -col /engine pivots it next to the peer engines'
// results (docs/performance.md).
func BenchmarkEval(b *testing.B) {
	e := mustLoad(b, peerBundle(100))
	ctx := peerCtx()
	b.Run("F1/engine=edgeflag", func(b *testing.B) {
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			sinkResult = e.Evaluate("f1", ctx, testNow)
		}
		c.stop(b)
		if sinkResult.Value != true {
			b.Fatal(sinkResult)
		}
	})
	b.Run("F2/engine=edgeflag", func(b *testing.B) {
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			sinkResult = e.Evaluate("f2", ctx, testNow)
		}
		c.stop(b)
		if sinkResult.Value != "senior" {
			b.Fatal(sinkResult)
		}
	})
	b.Run("F3/engine=edgeflag", func(b *testing.B) {
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			sinkResult = e.Evaluate("f3", ctx, testNow)
		}
		c.stop(b)
		if sinkResult.Reason != ReasonSplit {
			b.Fatal(sinkResult)
		}
	})
	b.Run("F100all/engine=edgeflag", func(b *testing.B) {
		bulk := ir.NewBuilder("bench", "production", ir.AudienceServer)
		for i := 0; i < 100; i++ {
			addF2(bulk, fmt.Sprintf("f2_%03d", i))
		}
		be := mustLoad(b, bulk.Bundle)
		out := make([]Result, 0, 100)
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			out = be.EvaluateAll(ctx, testNow, out[:0])
		}
		c.stop(b)
		if len(out) != 100 || out[42].Key != "f2_042" || out[42].Value != "senior" {
			b.Fatal(out[42])
		}
	})
}

// BenchmarkLoad measures Validate + Load of n F2-like flags built with
// ir.Builder (decoding is the codec's benchmark).
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		bb := ir.NewBuilder("bench", "production", ir.AudienceServer)
		for i := 0; i < n; i++ {
			addF2(bb, bulkKey(n, i))
		}
		bundle := bb.Bundle
		b.Run(fmt.Sprintf("Load%dk/engine=edgeflag", n/1000), func(b *testing.B) {
			c := startCPU(b)
			for i := 0; i < b.N; i++ {
				e, err := Load(bundle, 1)
				if err != nil || len(e.Keys()) != n {
					b.Fatal(err)
				}
			}
			c.stop(b)
		})
	}
}

var sinkString string

// BenchmarkBaseline is a calibration for the noisy shared machine: F2 and
// F3 written by hand over the same map context (the floor an interpreter
// can approach). Compare ratios engine/hand within one run.
func BenchmarkBaseline(b *testing.B) {
	ctx := peerCtx()
	b.Run("F2hand", func(b *testing.B) {
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			sinkString = handF2(ctx)
		}
		c.stop(b)
		if sinkString != "senior" {
			b.Fatal(sinkString)
		}
	})
	b.Run("F3hand", func(b *testing.B) {
		c := startCPU(b)
		for i := 0; i < b.N; i++ {
			sinkString = handF3(ctx)
		}
		c.stop(b)
	})
}

func handF2(ctx Context) string {
	if s, ok := ctx["email"].(string); ok && len(s) >= 12 && s[len(s)-12:] == "@example.com" {
		return "internal"
	}
	if c, ok := ctx["country"].(string); ok && (c == "US" || c == "CA") {
		if p, ok := ctx["plan"].(string); ok && p == "pro" {
			return "pro-na"
		}
	}
	if a, ok := ctx["age"].(int); ok && a >= 30 {
		return "senior"
	}
	k, _ := ctx["targetingKey"].(string)
	var buf [64]byte
	if bucketOf(append(append(buf[:0], "f2/"...), k...)) < 50000 {
		return "a"
	}
	return "b"
}

func handF3(ctx Context) string {
	k, _ := ctx["targetingKey"].(string)
	var buf [64]byte
	if bucketOf(append(append(buf[:0], "f3/"...), k...)) < 10000 {
		return "on"
	}
	return "off"
}
