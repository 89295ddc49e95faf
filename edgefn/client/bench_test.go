package client_test

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
)

// BenchmarkBoolValue is one evaluation through the client (serving check,
// clock, engine); BenchmarkEngineEvaluate the engine alone on the same
// bundle, flag and context, for the difference.
func BenchmarkBoolValue(b *testing.B) {
	c, _ := benchClient(b)
	b.ReportAllocs()
	for b.Loop() {
		if !c.BoolValue("new-checkout", false, pro) {
			b.Fatal("off")
		}
	}
}

func BenchmarkEngineEvaluate(b *testing.B) {
	_, e := benchClient(b)
	b.ReportAllocs()
	for b.Loop() {
		if r := e.Engine.EvaluateType("new-checkout", ir.TypeBoolean, pro, t0); r.Value != true {
			b.Fatal("off")
		}
	}
}

// BenchmarkStartFromCache is a process start with a cached bundle: read
// the floor and the copy, verify, decompress, decode and load.
func BenchmarkStartFromCache(b *testing.B) {
	f := benchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := client.New(f.config())
		if err != nil || c.Status().Serving != client.ServingLastKnownGood {
			b.Fatalf("%v %+v", err, c.Status())
		}
		c.Close()
	}
}

// benchClient is a client serving version 1 from the network and the
// same bundle opened by the verifier alone.
func benchClient(b *testing.B) (*client.Client, *envelope.Bundle) {
	f := benchFixture(b)
	c := f.open(f.config())
	if r := refresh(b, c); r != "" {
		b.Fatal(r)
	}
	e, err := envelope.Open(f.bundle(1), envelope.Trust{Keys: mustKeys(b, f.key.JWKS), Project: "shop",
		Environment: "production", Audience: ir.AudienceServer, Now: t0})
	if err != nil {
		b.Fatal(err)
	}
	return c, e
}

// benchFixture is a fixture whose cache holds version 1.
func benchFixture(b *testing.B) *fixture {
	f := newFixture(b)
	f.firstRun(1)
	return f
}

func mustKeys(b *testing.B, jwks []byte) []envelope.Key {
	k, err := envelope.ParseJWKS(jwks)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
