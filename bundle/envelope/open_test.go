package envelope

import (
	"errors"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// testBundle builds a small real bundle: flag "new-checkout" serves "on"
// when plan == "pro", otherwise "off".
func testBundle(env string) *ir.Bundle {
	b := ir.NewBuilder("shop", env, ir.AudienceServer)
	cond := b.Node(ir.OpEq, b.AttrNode("plan"), b.Str("pro"))
	b.Bundle.Flags = []ir.Flag{{
		Key:  "new-checkout",
		Type: ir.TypeBoolean,
		Variants: []ir.Variant{
			{Name: "off", Value: []byte("false")},
			{Name: "on", Value: []byte("true")},
		},
		Enabled:        true,
		DefaultVariant: 0,
		OffVariant:     0,
		Rules:          []ir.Rule{{ID: "pro", When: cond, Serve: ir.Serve{Variant: 1, BucketBy: ir.NoNode}}},
		Default:        ir.Serve{Variant: 0, BucketBy: ir.NoNode},
		Salt:           "new-checkout",
	}}
	return b.Bundle
}

func sealTestBundle(t testing.TB) []byte {
	t.Helper()
	return testSealBundle(t, testBundle("production"), testClaims())
}

func TestOpen(t *testing.T) {
	data := sealTestBundle(t)
	b, err := Open(data, testTrust())
	if err != nil {
		t.Fatal(err)
	}
	if b.Engine.Version() != 7 || b.Claims.Version != 7 || b.Engine.Environment() != "production" {
		t.Fatalf("opened %+v", b.Claims)
	}
	now := testIat.Add(time.Hour)
	for plan, want := range map[string]string{"pro": "on", "free": "off"} {
		r := b.Engine.Evaluate("new-checkout", eval.Context{"targetingKey": "u1", "plan": plan}, now)
		if r.Variant != want || r.Version != 7 {
			t.Fatalf("plan %s: %+v", plan, r)
		}
	}
	// Opening goes through Verify: a claim rejection surfaces unchanged.
	tr := testTrust()
	tr.LastVersion = 8
	if _, err := Open(data, tr); !errors.Is(err, ErrRollback) {
		t.Fatalf("got %v", err)
	}
}

// TestDecodeIRAgreesWithOpen: the IR a tool decodes from a verified
// payload is accepted exactly when Open accepts the bundle.
func TestDecodeIRAgreesWithOpen(t *testing.T) {
	enc, err := ir.Encode(testBundle("development"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"good":            sealTestBundle(t),
		"claims mismatch": testSeal(t, enc, testClaims()),
		"not IR":          testSeal(t, []byte("not an IR encoding"), testClaims()),
	} {
		_, openErr := Open(data, testTrust())
		v, err := Verify(data, testTrust())
		if err != nil {
			t.Fatal(err)
		}
		b, irErr := v.DecodeIR(ir.Limits{})
		if (openErr == nil) != (irErr == nil) || ErrorName(openErr) != ErrorName(irErr) {
			t.Errorf("%s: Open %v, DecodeIR %v", name, openErr, irErr)
		}
		if irErr == nil && (len(b.Flags) != 1 || b.Flags[0].Key != "new-checkout") {
			t.Errorf("%s: decoded %+v", name, b.Flags)
		}
	}
}

func TestOpenPayloadErrors(t *testing.T) {
	// A correctly signed envelope whose IR is for another environment
	// than its claims.
	enc, err := ir.Encode(testBundle("development"))
	if err != nil {
		t.Fatal(err)
	}
	mismatch := testSeal(t, enc, testClaims())
	garbage := testSeal(t, []byte("not an IR encoding"), testClaims())
	for name, data := range map[string][]byte{"claims mismatch": mismatch, "not IR": garbage} {
		if _, err := Open(data, testTrust()); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: got %v, want ErrPayload", name, err)
		}
	}
	// IR limits apply.
	tr := testTrust()
	tr.Limits = ir.Limits{MaxFlags: 1, MaxBytes: 10}
	if _, err := Open(sealTestBundle(t), tr); !errors.Is(err, ErrPayload) {
		t.Errorf("limits: got %v", err)
	}
}

func BenchmarkOpen(b *testing.B) {
	data := sealTestBundle(b)
	tr := testTrust()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(data, tr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHalfMiB measures the envelope's share of loading a large
// bundle: signature check and zstd of a 512 KiB payload (about the IR size
// of 10 000 flags, per ir.DefaultLimits' comment).
func BenchmarkVerifyHalfMiB(b *testing.B) {
	payload := make([]byte, 512<<10)
	x := uint32(1)
	for i := range payload {
		x = x*1664525 + 1013904223
		payload[i] = "abcdefghijklmnop"[x>>28] // compressible, not trivially
	}
	data := testSeal(b, payload, testClaims())
	tr := testTrust()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(data, tr); err != nil {
			b.Fatal(err)
		}
	}
}
