package eval

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// The benchmark flag set is the peer benchmarks' (benchgen.Peer builds
// the same flags from YAML):
//
//	F1 boolean, no rules, on.
//	F2 string; rules email.endsWith("@example.com") -> internal;
//	   country in ["US","CA"] && plan == "pro" -> pro-na; age >= 30 ->
//	   senior; otherwise a 50/50 split a/b on targetingKey.
//	F3 boolean, 10% rollout.

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// peerCtx is the peer benchmarks' context: it fails F2 rules 1 and 2 and
// matches rule 3.
func peerCtx() Context {
	return Context{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42}
}

func jsonStr(s string) []byte { return []byte(strconv.Quote(s)) }

func boolVariants() []ir.Variant {
	return []ir.Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}}
}

// fixed returns a Serve of variant v.
func fixed(v int32) ir.Serve { return ir.Serve{Variant: v, BucketBy: ir.NoNode} }

func split(b *ir.Builder, by string, w ...ir.Weight) ir.Serve {
	return ir.Serve{Variant: ir.NoNode, Split: w, BucketBy: b.Attr(by)}
}

func addF1(b *ir.Builder, key string) {
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
		Key: key, Type: ir.TypeBoolean, Variants: boolVariants(), Enabled: true,
		DefaultVariant: 0, OffVariant: 0, Default: fixed(1), Salt: key,
	})
}

// addF2 compiles the F2 rules exactly as the expression compiler would.
func addF2(b *ir.Builder, key string) {
	// Variants sorted by name: a b internal pro-na senior.
	names := []string{"a", "b", "internal", "pro-na", "senior"}
	vs := make([]ir.Variant, len(names))
	for i, n := range names {
		vs[i] = ir.Variant{Name: n, Value: jsonStr(n)}
	}
	r1 := b.Node(ir.OpEndsWith, b.AttrNode("email"), b.Str("@example.com"))
	list := b.Node(ir.OpConst, b.Const(ir.Const{Kind: ir.ConstList, List: []ir.Const{
		{Kind: ir.ConstString, Str: "US"}, {Kind: ir.ConstString, Str: "CA"}}}), 0)
	r2 := b.Node(ir.OpAnd,
		b.Node(ir.OpIn, b.AttrNode("country"), list),
		b.Node(ir.OpEq, b.AttrNode("plan"), b.Str("pro")))
	r3 := b.Node(ir.OpGe, b.AttrNode("age"), b.Num(30))
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
		Key: key, Type: ir.TypeString, Variants: vs, Enabled: true,
		DefaultVariant: 0, OffVariant: 0, Salt: key,
		Rules: []ir.Rule{
			{ID: "r-internal", When: r1, Serve: fixed(2)},
			{ID: "r-pro-na", When: r2, Serve: fixed(3)},
			{ID: "r-senior", When: r3, Serve: fixed(4)},
		},
		Default: split(b, "targetingKey", ir.Weight{Variant: 0, Weight: 50}, ir.Weight{Variant: 1, Weight: 50}),
	})
}

func addF3(b *ir.Builder, key string) {
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
		Key: key, Type: ir.TypeBoolean, Variants: boolVariants(), Enabled: true,
		DefaultVariant: 0, OffVariant: 0, Salt: key,
		Default: split(b, "targetingKey", ir.Weight{Variant: 1, Weight: 10}, ir.Weight{Variant: 0, Weight: 90}),
	})
}

// peerBundle returns f1, f2, f3 and n F2-like flags f2_000...
func peerBundle(n int) *ir.Bundle {
	b := ir.NewBuilder("bench", "production", ir.AudienceServer)
	addF1(b, "f1")
	addF2(b, "f2")
	for i := 0; i < n; i++ {
		addF2(b, bulkKey(n, i))
	}
	addF3(b, "f3")
	return b.Bundle
}

func bulkKey(n, i int) string {
	if n <= 1000 {
		return fmt.Sprintf("f2_%03d", i)
	}
	return fmt.Sprintf("f2_%05d", i)
}

func mustLoad(t testing.TB, b *ir.Bundle) *Engine {
	t.Helper()
	e, err := Load(b, 7)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
