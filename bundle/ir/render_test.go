package ir

import (
	"strings"
	"testing"
)

// TestOpString checks that every operator has its own Tree name and that
// a value outside the operators is shown as a number.
func TestOpString(t *testing.T) {
	seen := map[string]Op{}
	for o := Op(0); int(o) < NumOps; o++ {
		s := o.String()
		if prev, ok := seen[s]; ok || s == "" || strings.HasPrefix(s, "op(") {
			t.Errorf("Op(%d).String() = %q (also Op(%d))", o, s, prev)
		}
		seen[s] = o
	}
	if got := Op(NumOps).String(); got != "op(26)" {
		t.Errorf("Op(NumOps).String() = %q", got)
	}
}

// TestFormatExpr checks both notations on conditions that use every
// operator, precedence that needs and does not need parentheses, and
// references the bundle cannot resolve.
func TestFormatExpr(t *testing.T) {
	b := NewBuilder("p", "e", AudienceServer)
	bd := b.Bundle
	bd.Segments = []Segment{{Name: "staff", When: NoNode, KeyAttr: NoNode}}
	bd.Flags = []Flag{{Key: "theme"}}
	attr := b.AttrNode
	list := b.Node(OpConst, b.Const(Const{Kind: ConstList, List: []Const{{Kind: ConstString, Str: "US"}, {Kind: ConstNum, Num: 2.5}}}), 0)
	or := b.Node(OpOr, b.Node(OpEq, attr("plan"), b.Str("pro")), b.Node(OpIn, attr("country"), list))
	cases := []struct {
		name         string
		node         int32
		source, tree string
	}{
		{"or under and", b.Node(OpAnd, or, b.Node(OpBool, attr("beta"), 0)),
			`(plan == "pro" || country in ["US", 2.5]) && beta`,
			`and(or(eq(attr(plan), "pro"), in(attr(country), ["US", 2.5])), bool(attr(beta)))`},
		{"and under or", b.Node(OpOr, b.Node(OpAnd, b.Node(OpHas, b.Attr("x"), 0), b.Node(OpNot, b.Node(OpBool, b.Bool(true), 0), 0)), b.Node(OpInSegment, 0, 0)),
			`has(x) && !true || inSegment("staff")`,
			`or(and(has(x), not(bool(true))), inSegment("staff"))`},
		{"not of relation", b.Node(OpNot, b.Node(OpLt, b.Node(OpSize, attr("email"), 0), b.Num(3)), 0),
			`!(size(email) < 3)`, `not(lt(size(attr(email)), 3))`},
		{"methods and calls", b.Node(OpAnd,
			b.Node(OpAnd, b.Node(OpStartsWith, attr("email"), b.Str("a")), b.Node(OpEndsWith, attr("email"), b.Str("@x"))),
			b.Node(OpAnd, b.Node(OpContains, attr("email"), attr("plan")), b.Node(OpMatches, attr("email"), b.Const(Const{Kind: ConstString, Str: "^a$"})))),
			`email.startsWith("a") && email.endsWith("@x") && email.contains(plan) && email.matches("^a$")`,
			`and(and(startsWith(attr(email), "a"), endsWith(attr(email), "@x")), and(contains(attr(email), attr(plan)), matches(attr(email), "^a$")))`},
		{"comparisons", b.Node(OpAnd,
			b.Node(OpAnd, b.Node(OpGe, b.Node(OpSemver, attr("v"), 0), b.Node(OpSemver, b.Str("1.2.3"), 0)), b.Node(OpLe, attr("age"), b.Num(-1))),
			b.Node(OpAnd, b.Node(OpGt, b.Node(OpNow, 0, 0), b.Node(OpTimestamp, b.Str("2026-01-01T00:00:00Z"), 0)), b.Node(OpNe, b.Node(OpVariant, 0, 0), b.Str("dark")))),
			`semver(v) >= semver("1.2.3") && age <= -1 && now > timestamp("2026-01-01T00:00:00Z") && variant("theme") != "dark"`,
			`and(and(ge(semver(attr(v)), semver("1.2.3")), le(attr(age), -1)), and(gt(now, timestamp("2026-01-01T00:00:00Z")), ne(variant("theme"), "dark")))`},
		{"list literal", b.Node(OpIn, b.Str("a"), b.List([]int32{attr("plan"), b.Str("x")})),
			`"a" in [plan, "x"]`, `in("a", list(attr(plan), "x"))`},
		{"left-associative relation", b.Node(OpEq, b.Node(OpEq, attr("a"), attr("b")), b.Node(OpEq, attr("c"), attr("d"))),
			`a == b == (c == d)`, `eq(eq(attr(a), attr(b)), eq(attr(c), attr(d)))`},
		{"unresolved references", b.Node(OpAnd, b.Node(OpInSegment, 7, 0), b.Node(OpEq, b.Node(OpVariant, 9, 0), b.Node(OpAttr, 40, 0))),
			`inSegment(#7) && variant(#9) == #40`, `and(inSegment(#7), eq(variant(#9), attr(#40)))`},
		{"absent condition", NoNode, "true", "true"},
		{"node out of range", 999, "#999", "#999"},
	}
	for _, c := range cases {
		if got := bd.FormatExpr(c.node, Source); got != c.source {
			t.Errorf("%s, Source:\n got %s\nwant %s", c.name, got, c.source)
		}
		if got := bd.FormatExpr(c.node, Tree); got != c.tree {
			t.Errorf("%s, Tree:\n got %s\nwant %s", c.name, got, c.tree)
		}
	}
}

// TestFormatServe checks variant and split serves, the bucketing
// attribute shown only when it is not targetingKey, and unresolved
// variants.
func TestFormatServe(t *testing.T) {
	b := &Bundle{Attributes: []string{"targetingKey", "accountId"}}
	f := &Flag{Variants: []Variant{{Name: "off"}, {Name: "on"}}}
	for _, c := range []struct {
		s    Serve
		want string
	}{
		{Serve{Variant: 1, BucketBy: NoNode}, "on"},
		{Serve{Variant: NoNode, Split: []Weight{{1, 25}, {0, 75}}, BucketBy: 0}, "split on:25 off:75"},
		{Serve{Variant: NoNode, Split: []Weight{{1, 25}, {0, 75}}, BucketBy: 1}, "split on:25 off:75 by accountId"},
		{Serve{Variant: NoNode, Split: []Weight{{5, 1}}, BucketBy: 9}, "split #5:1 by #9"},
		{Serve{Variant: 2}, "#2"},
	} {
		if got := b.FormatServe(f, c.s); got != c.want {
			t.Errorf("FormatServe(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
	if got := (Const{Kind: ConstList, List: []Const{{Kind: ConstBool, Bool: true}, {Kind: ConstString, Str: `a"b`}}}).String(); got != `[true, "a\"b"]` {
		t.Errorf("Const.String of a list = %s", got)
	}
	if got := (Const{}).String(); got != "null" {
		t.Errorf("Const{}.String() = %s", got)
	}
}
