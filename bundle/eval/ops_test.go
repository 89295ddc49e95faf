package eval

import (
	"math"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// ex builds an expression node with a Builder.
type ex func(b *ir.Builder) int32

func at(p string) ex  { return func(b *ir.Builder) int32 { return b.AttrNode(p) } }
func st(s string) ex  { return func(b *ir.Builder) int32 { return b.Str(s) } }
func nm(f float64) ex { return func(b *ir.Builder) int32 { return b.Num(f) } }
func bl(v bool) ex    { return func(b *ir.Builder) int32 { return b.Bool(v) } }
func nowX() ex        { return func(b *ir.Builder) int32 { return b.Node(ir.OpNow, 0, 0) } }
func op(o ir.Op, x, y ex) ex {
	return func(b *ir.Builder) int32 { return b.Node(o, x(b), y(b)) }
}
func op1(o ir.Op, x ex) ex { return func(b *ir.Builder) int32 { return b.Node(o, x(b), 0) } }
func has(p string) ex      { return func(b *ir.Builder) int32 { return b.Node(ir.OpHas, b.Attr(p), 0) } }
func matches(x ex, re string) ex {
	return func(b *ir.Builder) int32 {
		return b.Node(ir.OpMatches, x(b), b.Const(ir.Const{Kind: ir.ConstString, Str: re}))
	}
}
func clist(cs ...ir.Const) ex {
	return func(b *ir.Builder) int32 {
		return b.Node(ir.OpConst, b.Const(ir.Const{Kind: ir.ConstList, List: cs}), 0)
	}
}
func dlist(xs ...ex) ex {
	return func(b *ir.Builder) int32 {
		ns := make([]int32, len(xs))
		for i, x := range xs {
			ns[i] = x(b)
		}
		return b.List(ns)
	}
}
func cs(s string) ir.Const  { return ir.Const{Kind: ir.ConstString, Str: s} }
func cn(f float64) ir.Const { return ir.Const{Kind: ir.ConstNum, Num: f} }

// Truth-value leaves.
var (
	T = op1(ir.OpBool, bl(true))
	F = op1(ir.OpBool, bl(false))
	U = op1(ir.OpBool, at("missing"))
)

// triFlag compiles cond into a flag whose variant reveals its truth value:
// rule 1 (cond) serves "t", rule 2 (!cond) serves "f", otherwise "u".
func triFlag(b *ir.Builder, key string, cond ex) {
	c := cond(b)
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
		Key: key, Type: ir.TypeString, Enabled: true, Salt: key,
		Variants: []ir.Variant{{Name: "f", Value: jsonStr("f")}, {Name: "t", Value: jsonStr("t")}, {Name: "u", Value: jsonStr("u")}},
		Rules: []ir.Rule{
			{ID: "yes", When: c, Serve: fixed(1)},
			{ID: "no", When: b.Node(ir.OpNot, c, 0), Serve: fixed(0)},
		},
		DefaultVariant: 2, OffVariant: 2, Default: fixed(2),
	})
}

func evalTri(t *testing.T, cond ex, ctx Context) string {
	t.Helper()
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	triFlag(b, "x", cond)
	e := mustLoad(t, b.Bundle)
	return e.Evaluate("x", ctx, testNow).Variant
}

func TestOps(t *testing.T) {
	ctx := Context{
		"s": "héllo", "e": "bob@other.org", "n": 42, "f": 2.5, "i64": int64(-3), "u8": uint8(7),
		"t": true, "nul": nil, "list": []any{"a", 1.0, true}, "strs": []string{"x", "y"}, "nums": []int{1, 2},
		"empty": []any{}, "nan": math.NaN(), "m": map[string]any{"k": "v"}, "odd": struct{}{},
		"user": map[string]any{"plan": "pro", "deep": map[string]any{"x": 1}}, "user.plan": "flat",
		"ctxmap": Context{"a": "b"}, "v": "v2.3.0-rc.1+build", "ts": "2026-01-01T00:00:00+02:00",
		"emoji": "日本語",
	}
	cases := []struct {
		name string
		cond ex
		want string
	}{
		// Logic truth tables (CEL commutative semantics).
		{"T&&T", op(ir.OpAnd, T, T), "t"}, {"T&&F", op(ir.OpAnd, T, F), "f"}, {"T&&U", op(ir.OpAnd, T, U), "u"},
		{"F&&U", op(ir.OpAnd, F, U), "f"}, {"U&&F", op(ir.OpAnd, U, F), "f"}, {"U&&U", op(ir.OpAnd, U, U), "u"},
		{"U&&T", op(ir.OpAnd, U, T), "u"}, {"F&&F", op(ir.OpAnd, F, F), "f"},
		{"T||U", op(ir.OpOr, T, U), "t"}, {"U||T", op(ir.OpOr, U, T), "t"}, {"F||U", op(ir.OpOr, F, U), "u"},
		{"U||F", op(ir.OpOr, U, F), "u"}, {"F||F", op(ir.OpOr, F, F), "f"}, {"U||U", op(ir.OpOr, U, U), "u"},
		{"!T", op1(ir.OpNot, T), "f"}, {"!F", op1(ir.OpNot, F), "t"}, {"!U", op1(ir.OpNot, U), "u"},
		// Numbers: every Go numeric type; fused (attr/const) and generic forms.
		{"n>=30", op(ir.OpGe, at("n"), nm(30)), "t"}, {"30<=n", op(ir.OpLe, nm(30), at("n")), "t"},
		{"n<30", op(ir.OpLt, at("n"), nm(30)), "f"}, {"n==42", op(ir.OpEq, at("n"), nm(42)), "t"},
		{"n!=42", op(ir.OpNe, at("n"), nm(42)), "f"}, {"f>2", op(ir.OpGt, at("f"), nm(2)), "t"},
		{"i64<0", op(ir.OpLt, at("i64"), nm(0)), "t"}, {"u8==7", op(ir.OpEq, at("u8"), nm(7)), "t"},
		{"n>f generic", op(ir.OpGt, at("n"), at("f")), "t"}, {"1<2 const", op(ir.OpLt, nm(1), nm(2)), "t"},
		{"nan==nan", op(ir.OpEq, at("nan"), at("nan")), "f"}, {"nan<1", op(ir.OpLt, at("nan"), nm(1)), "u"},
		{"nan!=1", op(ir.OpNe, at("nan"), nm(1)), "t"},
		// Mismatches are unknown, == and != included.
		{"n==\"42\"", op(ir.OpEq, at("n"), st("42")), "u"}, {"s!=1", op(ir.OpNe, at("s"), nm(1)), "u"},
		{"s<1 generic", op(ir.OpLt, at("s"), at("n")), "u"}, {"t<t", op(ir.OpLt, at("t"), at("t")), "u"},
		{"t==true", op(ir.OpEq, at("t"), bl(true)), "t"}, {"t!=true", op(ir.OpNe, at("t"), bl(true)), "f"},
		{"t==t generic", op(ir.OpEq, at("t"), at("t")), "t"}, {"nul==\"\"", op(ir.OpEq, at("nul"), st("")), "u"},
		{"nul==nul", op(ir.OpEq, at("nul"), at("nul")), "u"}, {"missing==1", op(ir.OpEq, at("missing"), nm(1)), "u"},
		{"missing!=\"pro\"", op(ir.OpNe, at("missing"), st("pro")), "u"}, {"m==1", op(ir.OpEq, at("m"), nm(1)), "u"},
		{"odd==1", op(ir.OpEq, at("odd"), nm(1)), "u"}, {"list==list", op(ir.OpEq, at("list"), at("list")), "u"},
		// Strings compare bytewise.
		{"s>\"h\"", op(ir.OpGt, at("s"), st("h")), "t"}, {"\"B\"<\"a\"", op(ir.OpLt, st("B"), st("a")), "t"},
		{"e==", op(ir.OpEq, at("e"), st("bob@other.org")), "t"},
		// has(): present (null too), absent.
		{"has(s)", has("s"), "t"}, {"has(nul)", has("nul"), "t"}, {"has(missing)", has("missing"), "f"},
		{"has(user.plan)", has("user.plan"), "t"}, {"has(user.deep.x)", has("user.deep.x"), "t"},
		{"has(user.nope)", has("user.nope"), "f"},
		// Flat key wins over nested; nested paths of every map type.
		{"user.plan flat", op(ir.OpEq, at("user.plan"), st("flat")), "t"},
		{"user.deep.x nested", op(ir.OpEq, at("user.deep.x"), nm(1)), "t"},
		{"ctxmap.a nested Context", op(ir.OpEq, at("ctxmap.a"), st("b")), "t"},
		{"s.x through a string", op(ir.OpEq, at("s.x"), st("b")), "u"},
		// String functions, Unicode.
		{"endsWith", op(ir.OpEndsWith, at("e"), st("@other.org")), "t"},
		{"endsWith multibyte", op(ir.OpEndsWith, at("s"), st("llo")), "t"},
		{"endsWith é", op(ir.OpEndsWith, at("emoji"), st("本語")), "t"},
		{"startsWith hé", op(ir.OpStartsWith, at("s"), st("hé")), "t"},
		{"startsWith no", op(ir.OpStartsWith, at("s"), st("x")), "f"},
		{"contains", op(ir.OpContains, at("e"), st("@")), "t"}, {"contains generic", op(ir.OpContains, st("abc"), at("s")), "f"},
		{"endsWith on number", op(ir.OpEndsWith, at("n"), st("2")), "u"},
		{"endsWith missing", op(ir.OpEndsWith, at("missing"), st("2")), "u"},
		{"size(héllo)==5", op(ir.OpEq, op1(ir.OpSize, at("s")), nm(5)), "t"},
		{"size(日本語)==3", op(ir.OpEq, op1(ir.OpSize, at("emoji")), nm(3)), "t"},
		{"size(list)==3", op(ir.OpEq, op1(ir.OpSize, at("list")), nm(3)), "t"},
		{"size(strs)==2", op(ir.OpEq, op1(ir.OpSize, at("strs")), nm(2)), "t"},
		{"size(n) unknown", op(ir.OpEq, op1(ir.OpSize, at("n")), nm(2)), "u"},
		{"size([a,b] const)", op(ir.OpEq, op1(ir.OpSize, clist(cs("a"), cs("b"))), nm(2)), "t"},
		{"matches partial", matches(at("e"), "o+b@"), "t"}, {"matches anchored", matches(at("e"), "^ob"), "f"},
		{"matches generic", matches(op1(ir.OpSize, at("s")), "5"), "u"}, {"matches missing", matches(at("missing"), "x"), "u"},
		// in.
		{"in const strs", op(ir.OpIn, at("s"), clist(cs("a"), cs("héllo"))), "t"},
		{"in const strs no", op(ir.OpIn, at("s"), clist(cs("a"), cs("b"))), "f"},
		{"num in const strs", op(ir.OpIn, at("n"), clist(cs("a"), cs("b"))), "u"},
		{"missing in const strs", op(ir.OpIn, at("missing"), clist(cs("a"))), "u"},
		{"in mixed const", op(ir.OpIn, at("n"), clist(cs("a"), cn(42))), "t"},
		{"in mixed const no", op(ir.OpIn, at("n"), clist(cs("a"), cn(1))), "f"},
		{"in ctx list", op(ir.OpIn, st("a"), at("list")), "t"}, {"true in ctx list", op(ir.OpIn, bl(true), at("list")), "t"},
		{"in []string", op(ir.OpIn, st("y"), at("strs")), "t"}, {"in []int", op(ir.OpIn, nm(2), at("nums")), "t"},
		{"str in []int", op(ir.OpIn, st("2"), at("nums")), "u"}, {"in empty", op(ir.OpIn, st("a"), at("empty")), "f"},
		{"in non-list", op(ir.OpIn, st("a"), at("s")), "u"}, {"in missing list", op(ir.OpIn, st("a"), at("missing")), "u"},
		{"in dyn list", op(ir.OpIn, at("n"), dlist(at("f"), at("n"))), "t"},
		{"in dyn list no", op(ir.OpIn, nm(1), dlist(at("f"), at("missing"))), "f"},
		{"in big const set", op(ir.OpIn, at("s"), clist(cs("1"), cs("2"), cs("3"), cs("4"), cs("5"), cs("6"), cs("7"), cs("8"), cs("9"), cs("héllo"))), "t"},
		{"in big const set no", op(ir.OpIn, at("e"), clist(cs("1"), cs("2"), cs("3"), cs("4"), cs("5"), cs("6"), cs("7"), cs("8"), cs("9"), cs("héllo"))), "f"},
		// semver and timestamp.
		{"semver v-prefix rc < 2.3.0", op(ir.OpLt, op1(ir.OpSemver, at("v")), op1(ir.OpSemver, st("2.3.0"))), "t"},
		{"semver 2.3 == 2.3.0", op(ir.OpEq, op1(ir.OpSemver, st("2.3")), op1(ir.OpSemver, st("2.3.0+x"))), "t"},
		{"semver 2 < 10", op(ir.OpLt, op1(ir.OpSemver, st("2")), op1(ir.OpSemver, st("10.0.0"))), "t"},
		{"semver invalid", op(ir.OpLt, op1(ir.OpSemver, st("1.02.0")), op1(ir.OpSemver, st("2.0.0"))), "u"},
		{"semver of number", op(ir.OpLt, op1(ir.OpSemver, at("n")), op1(ir.OpSemver, st("2.0.0"))), "u"},
		{"semver vs string", op(ir.OpLt, op1(ir.OpSemver, st("1.0.0")), st("2.0.0")), "u"},
		{"timestamp < now", op(ir.OpLt, op1(ir.OpTimestamp, at("ts")), nowX()), "t"},
		{"timestamp offset instant", op(ir.OpEq, op1(ir.OpTimestamp, at("ts")), op1(ir.OpTimestamp, st("2025-12-31T22:00:00Z"))), "t"},
		{"timestamp invalid", op(ir.OpLt, op1(ir.OpTimestamp, st("2026-13-01T00:00:00Z")), nowX()), "u"},
		{"now > const", op(ir.OpGt, nowX(), op1(ir.OpTimestamp, st("2026-05-31T23:59:59.999Z"))), "t"},
		// OpBool on values.
		{"bool attr", op1(ir.OpBool, at("t")), "t"}, {"bool of string", op1(ir.OpBool, at("s")), "u"},
		{"bool of generic", op1(ir.OpBool, op1(ir.OpSize, at("s"))), "u"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := evalTri(t, c.cond, ctx); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestSemverPrecedence(t *testing.T) {
	// The ordering example of SemVer 2.0.0 §11.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1", "v10.0.0"}
	for i := 0; i < len(order); i++ {
		for j := 0; j < len(order); j++ {
			a, b := parseSemver(order[i]), parseSemver(order[j])
			if a.k != kSemver || b.k != kSemver {
				t.Fatalf("parse %q / %q failed", order[i], order[j])
			}
			got := semverCompare(&a, &b)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "v", "1.", "1..2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "a.b.c", "1.2.3-é", "18446744073709551616.0.0"} {
		if v := parseSemver(bad); v.k != kUnknown {
			t.Errorf("parseSemver(%q) accepted", bad)
		}
	}
}
