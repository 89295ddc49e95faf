package envelope_test

// Open of 10 000 realistic flags (benchgen.Realistic): every flag has its
// own variant values, rule names, constants and split weights, so the
// number is what a real flag file costs. The open target is judged on it
// (docs/performance.md).

import (
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

// benchOpenRealistic adds Open10kRealistic to BenchmarkOpenFlags:
// envelope.Open of the sealed server bundle per op; each op then checks
// one probe (a context built to match a flag's first rule).
func benchOpenRealistic(b *testing.B, now time.Time) {
	const n = 10000
	set, bd := benchgen.RealisticBundle(b, n, ir.AudienceServer)
	if len(bd.Flags) != n {
		b.Fatalf("compiled %d flags, want %d", len(bd.Flags), n)
	}
	data := sealF2(b, bd)
	tr := benchTrust(ir.AudienceServer)
	p := set.Probes[len(set.Probes)/2]
	check := func(e *eval.Engine) {
		if r := e.Evaluate(p.Flag, p.Context, now); r.RuleID != p.RuleID {
			b.Fatal(r)
		}
	}
	b.Run("Open10kRealistic", func(b *testing.B) {
		benchOpen(b, data, n, func() any {
			o, err := envelope.Open(data, tr)
			if err != nil {
				b.Fatal(err)
			}
			check(o.Engine)
			return o
		})
	})
	// What Open costs when the engine is loaded straight from the
	// verified payload (eval.LoadEncoded) and no ir.Bundle is built.
	b.Run("VerifyLoad10kRealistic", func(b *testing.B) {
		benchOpen(b, data, n, func() any {
			v, err := envelope.Verify(data, tr)
			if err != nil {
				b.Fatal(err)
			}
			e, err := eval.LoadEncoded(v.Payload, tr.Limits, v.Claims.Version)
			if err != nil {
				b.Fatal(err)
			}
			if e.Project() != v.Claims.Project || e.Environment() != v.Claims.Environment || e.Audience() != v.Claims.Audience {
				b.Fatal("payload names another project, environment or audience")
			}
			check(e)
			return e
		})
	})
}

// benchOpen runs open (of data, n flags) per op and reports CPU per op
// and the heap what it returns retains per flag.
func benchOpen(b *testing.B, data []byte, n int, open func() any) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu := benchmetric.CPU()
	for b.Loop() {
		open()
	}
	benchmetric.ReportCPU(b, cpu)
	benchmetric.ReportRetained(b, n, "flag", open)
}
