package envelope_test

// Benchmarks of whole bundles as users publish and load them: the peer
// benchmarks' F2 flag repeated 1 000 / 10 000 times (benchgen.Peer) and
// realistic flags that all differ (benchgen.Realistic), compiled by
// publisher/compile, sealed with Ed25519. Results are quoted in
// docs/performance.md.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
	"github.com/edgeflag/edgeflag/internal/benchmetric"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

var (
	benchIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	benchKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
)

const benchKid = "bench-key"

// compileF2 compiles benchgen.Peer's n F2 flags (keys f2_00000...) for
// one audience; for client bundles every flag is marked clientSide.
func compileF2(tb testing.TB, n int, aud ir.Audience) *ir.Bundle {
	tb.Helper()
	b := benchgen.Compile(tb, benchgen.Peer(false, n, "f2_%05d", aud == ir.AudienceClient), aud)
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

// BenchmarkOpenFlags measures envelope.Open of sealed server bundles of
// 1 000 and 10 000 F2-like flags: Ed25519 verification, zstd
// decompression, ir.Decode and eval.Load (validate + index). Each op
// checks the opened engine with the peer context (F2 = "senior").
// Open10kRealistic (bench_open_varied_test.go) opens flags that all
// differ.
func BenchmarkOpenFlags(b *testing.B) {
	ctx := eval.Context(benchgen.PeerContext())
	now := benchIat.Add(time.Hour)
	for _, n := range []int{1000, 10000} {
		data := sealF2(b, compileF2(b, n, ir.AudienceServer))
		tr := benchTrust(ir.AudienceServer)
		b.Run(fmt.Sprintf("Open%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				o, err := envelope.Open(data, tr)
				if err != nil {
					b.Fatal(err)
				}
				if r := o.Engine.Evaluate("f2_00042", ctx, now); r.Value != "senior" {
					b.Fatal(r)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
	benchOpenRealistic(b, now) // bench_open_varied_test.go
}

// BenchmarkSealFlags measures seal.SealBundle (ir.Encode + zstd +
// Ed25519) of 1 000 flags per audience, the peer F2 flag repeated
// ("same") and realistic flags ("realistic"), and reports the bundle size
// per flag at each stage: the IR encoding, its zstd frame, and the sealed
// compact JWS (base64url of the frame plus header and signature). A
// realistic client bundle holds only the set's client-side flags, so its
// per-flag figures divide by that count.
func BenchmarkSealFlags(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		aud    ir.Audience
		varied bool
	}{{ir.AudienceServer, false}, {ir.AudienceClient, false}, {ir.AudienceServer, true}, {ir.AudienceClient, true}} {
		aud := c.aud
		var bd *ir.Bundle
		if c.varied {
			_, bd = benchgen.RealisticBundle(b, n, aud)
		} else {
			bd = compileF2(b, n, aud)
		}
		nf := float64(len(bd.Flags))
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
			set = "realistic"
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
			b.ReportMetric(float64(len(enc))/nf, "ir-B/flag")
			b.ReportMetric(float64(len(frame))/nf, "zstd-B/flag")
			b.ReportMetric(float64(len(sealed))/nf, "jws-B/flag")
		})
	}
}
