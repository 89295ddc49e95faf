package host

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// The benchmarks of docs/performance.md's wasm section: the peer flag set
// (F2: three rules and a 50/50 split, the same flags-as-code as
// bundle/eval's peer benchmarks) evaluated in the module under wazero,
// next to the native engine in the same run.

// engine names a module in benchmark names (benchstat -col /engine).
func engine(m wasmbuild.Spec) string {
	if m.Toolchain == wasmbuild.TinyGo {
		return "engine=edgeflag-tinygo"
	}
	return "engine=edgeflag-wasm"
}

// peerCtxJSON is the peers' context (fails F2's rules 1 and 2, matches 3).
const peerCtxJSON = `{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}`

// f2Bundle compiles n F2-like flags (benchgen.Peer) and seals them.
func f2Bundle(tb testing.TB, n int, keyFmt string) ([]byte, *ir.Bundle) {
	tb.Helper()
	b := benchgen.Compile(tb, benchgen.Peer(false, n, keyFmt, false), ir.AudienceServer)
	enc, err := ir.Encode(b)
	if err != nil {
		tb.Fatal(err)
	}
	return seal(tb, enc, 1), b
}

func openF2(tb testing.TB, m wasmbuild.Spec, n int, keyFmt string) *Host {
	tb.Helper()
	data, b := f2Bundle(tb, n, keyFmt)
	h := newHost(tb, m, Options{Instances: 1})
	ctx := context.Background()
	if err := h.SetTrust(ctx, trustFor(b)); err != nil {
		tb.Fatal(err)
	}
	if _, err := h.Open(ctx, data, openAt); err != nil {
		tb.Fatal(err)
	}
	return h
}

// BenchmarkWasm: per-call costs under wazero, for each module. "raw" is
// the module call alone (context written in, result JSON read out, not
// decoded); the others go through the Host API (pool checkout, JSON
// decode into Result).
func BenchmarkWasm(b *testing.B) {
	for _, m := range modules {
		benchWasm(b, m)
	}
}

func benchWasm(b *testing.B, m wasmbuild.Spec) {
	ctx := context.Background()
	wasmEngine := engine(m)
	one := openF2(b, m, 1, "f2")
	all := openF2(b, m, 100, "f2_%03d")
	b.Run("Compile/"+wasmEngine, func(b *testing.B) {
		// wazero's compiler, no cache: what New costs the first time.
		wasm := module(b, m)
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		for b.Loop() {
			rt := wazero.NewRuntime(ctx)
			if _, err := rt.CompileModule(ctx, wasm); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
	b.Run("Instantiate/"+wasmEngine, func(b *testing.B) {
		// A new instance of the compiled module, _initialize included.
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		for b.Loop() {
			in, err := one.instantiate(ctx)
			if err != nil {
				b.Fatal(err)
			}
			in.close()
		}
	})
	b.Run("F2raw/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		one.raw(ctx, func(in *instance) ([]byte, error) {
			for b.Loop() {
				out, err := in.evaluate(ctx, "f2", 0, []byte(peerCtxJSON), openAt)
				if err != nil || !strings.Contains(string(out), `"senior"`) {
					b.Fatal(string(out), err)
				}
			}
			return nil, nil
		})
	})
	b.Run("F2/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		for b.Loop() {
			r, err := one.Evaluate(ctx, "f2", []byte(peerCtxJSON), openAt)
			if err != nil || r.Variant != "senior" {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("F100allraw/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		all.raw(ctx, func(in *instance) ([]byte, error) {
			for b.Loop() {
				out, err := in.evaluateAll(ctx, []byte(peerCtxJSON), openAt)
				if err != nil || strings.Count(string(out), `"variant":"senior"`) != 100 {
					b.Fatal(string(out), err)
				}
			}
			return nil, nil
		})
	})
	b.Run("F2json/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		var out []byte
		for b.Loop() {
			var err error
			if out, err = one.AppendEvaluate(ctx, out[:0], "f2", 0, []byte(peerCtxJSON), openAt); err != nil || !strings.Contains(string(out), `"variant":"senior"`) {
				b.Fatal(string(out), err)
			}
		}
	})
	b.Run("F100alljson/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		var out []byte
		for b.Loop() {
			var err error
			if out, err = all.AppendEvaluateAll(ctx, out[:0], []byte(peerCtxJSON), openAt); err != nil || strings.Count(string(out), `"variant":"senior"`) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("F100all/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		for b.Loop() {
			rs, err := all.EvaluateAll(ctx, []byte(peerCtxJSON), openAt)
			if err != nil || len(rs) != 100 || rs[42].Variant != "senior" {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWasmOpen opens (verify, zstd, decode, load) 1 000 and 10 000
// F2-like flags in each module.
func BenchmarkWasmOpen(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		data, ib := f2Bundle(b, n, "f2_%05d")
		for _, m := range modules {
			benchOpen(b, m, n, data, ib)
		}
	}
}

func benchOpen(b *testing.B, m wasmbuild.Spec, n int, data []byte, ib *ir.Bundle) {
	ctx := context.Background()
	h := newHost(b, m, Options{Instances: 1})
	if err := h.SetTrust(ctx, trustFor(ib)); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("Open%dk/%s", n/1000, engine(m)), func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := h.Open(ctx, data, openAt)
			if err != nil || c.Flags != n {
				b.Fatal(c, err)
			}
		}
	})
}

// BenchmarkWasmNewContext is F2 with a different context every call, so
// the module decodes each one (BenchmarkWasm's F2 repeats one context,
// which the module decodes once).
func BenchmarkWasmNewContext(b *testing.B) {
	for _, m := range modules {
		benchNewContext(b, m)
	}
}

func benchNewContext(b *testing.B, m wasmbuild.Spec) {
	ctx := context.Background()
	wasmEngine := engine(m)
	one := openF2(b, m, 1, "f2")
	all := openF2(b, m, 100, "f2_%03d")
	contexts := make([][]byte, 1024)
	for i := range contexts {
		contexts[i] = []byte(fmt.Sprintf(`{"targetingKey":"user-%04d","email":"bob@other.org","country":"FR","plan":"free","age":42}`, i))
	}
	b.Run("F2raw/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		one.raw(ctx, func(in *instance) ([]byte, error) {
			i := 0
			for b.Loop() {
				out, err := in.evaluate(ctx, "f2", 0, contexts[i%len(contexts)], openAt)
				if err != nil || !strings.Contains(string(out), `"variant":"senior"`) {
					b.Fatal(string(out), err)
				}
				i++
			}
			return nil, nil
		})
	})
	b.Run("F100allraw/"+wasmEngine, func(b *testing.B) {
		b.ReportAllocs()
		defer benchmetric.ReportCPU(b, benchmetric.CPU())
		all.raw(ctx, func(in *instance) ([]byte, error) {
			i := 0
			for b.Loop() {
				out, err := in.evaluateAll(ctx, contexts[i%len(contexts)], openAt)
				if err != nil || strings.Count(string(out), `"variant":"senior"`) != 100 {
					b.Fatal(string(out), err)
				}
				i++
			}
			return nil, nil
		})
	})
}
