package store_test

// BenchmarkPublish measures publishing a 1 000-flag environment to a
// file:// store, as `edgeflag publish` does it, for docs/performance.md.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// publishBenchConfig returns n F2-like flags (the F2 flag of the peer
// benchmarks, docs/performance.md), every other one clientSide so that
// both audiences carry flags.
func publishBenchConfig(n int) []config.File {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [production]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  f2_%05d:\n    type: string\n    clientSide: %t\n"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@example.com\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"US\", \"CA\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= 30', serve: senior}\n"+
			"        default: {split: {a: 50, b: 50}}\n", i, i%2 == 0)
	}
	return []config.File{{Name: "flags.yaml", Data: []byte(sb.String())}}
}

// BenchmarkPublish publishes version after version of a 1 000-flag
// environment into a fresh file:// store. Per op:
//
//   - seal+write: Head, seal the server and client payloads with
//     seal.SealIR (zstd, Ed25519, and the verifier's envelope.Open of the
//     result) and Publish (audit claim, two create-only bundle writes,
//     pointer compare-and-swap; every write fsynced);
//   - compile+seal+write: the same after config.Parse, compile.Build and
//     compile.Payload (ir.Encode and seal.Preflight) of both audiences from
//     the YAML bytes (reading the files excluded), as edgeflag publish does.
//
// Every op checks that the pointer moved to the version it sealed.
func BenchmarkPublish(b *testing.B) {
	const n = 1000
	files := publishBenchConfig(n)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	signer := seal.Signer{KeyID: "bench-key", Key: key}
	ctx := context.Background()

	build := func(b *testing.B) map[ir.Audience][]byte {
		doc, ds := config.Parse(files)
		if ds.HasErrors() {
			b.Fatal(ds.Error())
		}
		out := map[ir.Audience][]byte{}
		for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
			bd, ds := compile.Build(doc, "production", aud)
			if ds.HasErrors() {
				b.Fatal(ds.Error())
			}
			if want := map[ir.Audience]int{ir.AudienceServer: n, ir.AudienceClient: n / 2}[aud]; len(bd.Flags) != want {
				b.Fatalf("compiled %d %s flags, want %d", len(bd.Flags), aud, want)
			}
			payload, ds := compile.Payload(doc, bd)
			if ds.HasErrors() {
				b.Fatal(ds.Error())
			}
			out[aud] = payload
		}
		return out
	}
	publish := func(b *testing.B, p *store.Publisher, payloads map[ir.Audience][]byte) {
		h, err := p.Head(ctx, "bench", "production")
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		req := store.Request{Action: store.ActionPublish, Actor: "bench", Bundles: map[string][]byte{}}
		for aud, name := range map[ir.Audience]string{ir.AudienceServer: "server", ir.AudienceClient: "client"} {
			claims := envelope.Claims{Project: "bench", Environment: "production", Audience: aud, Version: h.Next, IssuedAt: now, ExpiresAt: now.Add(720 * time.Hour)}
			sealed, err := seal.SealIR(payloads[aud], claims, signer)
			if err != nil {
				b.Fatal(err)
			}
			req.Bundles[name] = sealed
		}
		rec, err := p.Publish(ctx, h, req)
		if err != nil || rec.Version != h.Next {
			b.Fatalf("publish version %d: %v", h.Next, err)
		}
	}
	checkLive := func(b *testing.B, p *store.Publisher) {
		ptr, _, err := p.ReadPointer(ctx, "bench", "production")
		if err != nil || ptr.Version != uint64(b.N) {
			b.Fatalf("pointer after %d publishes: %+v, %v", b.N, ptr, err)
		}
	}

	b.Run("Publish1k/seal+write", func(b *testing.B) {
		payloads := build(b)
		blob, err := store.Open(ctx, "file://"+b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p := store.NewPublisher(blob)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			publish(b, p, payloads)
		}
		b.StopTimer()
		checkLive(b, p)
	})
	b.Run("Publish1k/compile+seal+write", func(b *testing.B) {
		blob, err := store.Open(ctx, "file://"+b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p := store.NewPublisher(blob)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			publish(b, p, build(b))
		}
		b.StopTimer()
		checkLive(b, p)
	})
}
