package envelope_test

// Benchmarks of whole bundles as users publish and load them: the F2 flag
// of /work/shared/peerbench/flagdefs.go repeated 1 000 / 10 000 times,
// written as flags-as-code and compiled by publisher/compile, sealed with
// Ed25519. Results are quoted in docs/performance.md.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

var (
	benchIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	benchKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
)

const benchKid = "bench-key"

// f2Flags returns a config of n F2-like flags (keys f2_00000...): rules
// email.endsWith("@example.com") -> internal; country in ["US","CA"] &&
// plan == "pro" -> pro-na; age >= 30 -> senior; default split a/b 50/50.
// With varied, every flag gets its own email domain and age threshold, so
// that zstd cannot fold 1 000 identical rule sets into one (a less
// flattering, more realistic compressed size).
func f2Flags(n int, clientSide, varied bool) []config.File {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [production]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	for i := 0; i < n; i++ {
		domain, age := "example.com", 30
		if varied {
			domain, age = fmt.Sprintf("team%d.example.com", i), 18+i%60
		}
		fmt.Fprintf(&sb, "  f2_%05d:\n    type: string\n    clientSide: %t\n"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@%s\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"US\", \"CA\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= %d', serve: senior}\n"+
			"        default: {split: {a: 50, b: 50}}\n", i, clientSide, domain, age)
	}
	return []config.File{{Name: "flags.yaml", Data: []byte(sb.String())}}
}

// compileF2 compiles f2Flags for one audience (client bundles hold only
// clientSide flags, so those are marked clientSide).
func compileF2(tb testing.TB, n int, aud ir.Audience, varied bool) *ir.Bundle {
	tb.Helper()
	doc, ds := config.Parse(f2Flags(n, aud == ir.AudienceClient, varied))
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	b, ds := compile.Build(doc, "production", aud)
	if ds.HasErrors() {
		tb.Fatal(ds.Error())
	}
	if len(b.Flags) != n {
		tb.Fatalf("compiled %d flags, want %d", len(b.Flags), n)
	}
	return b
}

func benchClaims() envelope.Claims {
	return envelope.Claims{Version: 3, IssuedAt: benchIat, ExpiresAt: benchIat.Add(720 * time.Hour)}
}

func benchTrust(aud ir.Audience) envelope.Trust {
	return envelope.Trust{
		Keys:    []envelope.Key{{ID: benchKid, Algorithm: envelope.AlgEdDSA, Public: benchKey.Public().(ed25519.PublicKey)}},
		Project: "bench", Environment: "production", Audience: aud,
		Now: benchIat.Add(time.Hour),
	}
}

func sealF2(tb testing.TB, b *ir.Bundle) []byte {
	tb.Helper()
	data, err := seal.SealBundle(b, benchClaims(), seal.Signer{KeyID: benchKid, Key: benchKey})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func reportCPU(b *testing.B, start int64) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkOpenFlags measures envelope.Open of sealed server bundles of
// 1 000 and 10 000 F2-like flags: Ed25519 verification, zstd
// decompression, ir.Decode and eval.Load (validate + index). Each op
// checks the opened engine with the peer context (F2 = "senior").
// Open10kVaried (bench_open_varied_test.go) opens flags that all differ.
func BenchmarkOpenFlags(b *testing.B) {
	ctx := eval.Context{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42}
	now := benchIat.Add(time.Hour)
	for _, n := range []int{1000, 10000} {
		data := sealF2(b, compileF2(b, n, ir.AudienceServer, false))
		tr := benchTrust(ir.AudienceServer)
		b.Run(fmt.Sprintf("Open%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := processCPU()
			for b.Loop() {
				o, err := envelope.Open(data, tr)
				if err != nil {
					b.Fatal(err)
				}
				if r := o.Engine.Evaluate("f2_00042", ctx, now); r.Value != "senior" {
					b.Fatal(r)
				}
			}
			reportCPU(b, cpu)
		})
	}
	benchOpenVaried(b, ctx, now) // bench_open_varied_test.go
}

// BenchmarkSealFlags measures seal.SealBundle (ir.Encode + zstd +
// Ed25519) of 1 000 F2-like flags per audience and reports the bundle
// size per flag at each stage: the IR encoding, its zstd frame, and the
// sealed compact JWS (base64url of the frame plus header and signature).
func BenchmarkSealFlags(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		aud    ir.Audience
		varied bool
	}{{ir.AudienceServer, false}, {ir.AudienceClient, false}, {ir.AudienceServer, true}, {ir.AudienceClient, true}} {
		aud := c.aud
		bd := compileF2(b, n, aud, c.varied)
		enc, err := ir.Encode(bd)
		if err != nil {
			b.Fatal(err)
		}
		name := "server"
		if aud == ir.AudienceClient {
			name = "client"
		}
		set := "same"
		if c.varied {
			set = "varied"
		}
		b.Run(fmt.Sprintf("%s/%s/flags=%d", name, set, n), func(b *testing.B) {
			var sealed []byte
			b.ReportAllocs()
			for b.Loop() {
				sealed = sealF2(b, bd)
			}
			parts := bytes.Split(sealed, []byte{'.'})
			if len(parts) != 3 {
				b.Fatalf("sealed bundle has %d parts", len(parts))
			}
			frame, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
			if err != nil {
				b.Fatal(err)
			}
			// The bundle must open for its audience, or the sizes mean nothing.
			if _, err := envelope.Open(sealed, benchTrust(aud)); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(enc))/n, "ir-B/flag")
			b.ReportMetric(float64(len(frame))/n, "zstd-B/flag")
			b.ReportMetric(float64(len(sealed))/n, "jws-B/flag")
		})
	}
}
