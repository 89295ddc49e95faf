package eval

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestFusedMatchesGeneric checks every fused attribute-vs-constant
// operator against the generic (unfused) evaluation of the same IR node,
// for constants on either side and context values of every kind.
func TestFusedMatchesGeneric(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	// (Validate rejects non-finite constants, so no NaN here.)
	consts := []ex{nm(3), nm(-0.5), st("m"), st(""), bl(true), bl(false)}
	ops := []ir.Op{ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe, ir.OpStartsWith, ir.OpEndsWith, ir.OpContains}
	var conds []ex
	for _, o := range ops {
		for _, c := range consts {
			conds = append(conds, op(o, at("x"), c))
			if o < ir.OpStartsWith {
				conds = append(conds, op(o, c, at("x")))
			}
		}
	}
	conds = append(conds, op1(ir.OpBool, at("x")),
		op(ir.OpIn, at("x"), clist(cs("US"), cs("CA"), cs(""), cs("CAN"))),
		op(ir.OpIn, at("x"), clist(cs("a"), cs("b"), cs("c"), cs("d"), cs("e"), cs("f"), cs("g"), cs("US"), cs("CAN"))),
		matches(at("x"), "^m+$"))
	for i, c := range conds {
		triFlag(b, fmt.Sprintf("f%03d", i), c)
	}
	e := mustLoad(t, b.Bundle)
	g := allNodes(e, b.Bundle)
	values := []any{nil, 3.0, 2, 4.5, math.NaN(), "m", "mm", "", "a", "US", "CA", "CAN", "CX", true, false, []any{"m"}}
	seen := map[pop]bool{}
	for _, v := range values {
		ctxs := []Context{{"x": v}}
		if v == nil {
			ctxs = append(ctxs, Context{}) // missing, not null
		}
		for _, ctx := range ctxs {
			for fi, f := range e.flags {
				at := f.rules[0].when                 // in e
				i := b.Bundle.Flags[fi].Rules[0].When // in the IR and in g
				seen[e.nodes[at].op] = true
				nd := b.Bundle.Nodes[i]
				generic := pnode{op: pop(nd.Op), sub: nd.Op, a: nd.A, b: nd.B}
				if nd.Op == ir.OpMatches {
					generic.b = g.nodes[i].b // the regexp
				}
				s := state{ctx: ctx, now: testNow}
				got := e.cond(at, &s)
				want := g.condSlow(&generic, &s)
				if got != want {
					t.Errorf("%s with x=%#v: fused %d, generic %d", e.keys[fi], v, got, want)
				}
				s.slots = make([]val, len(e.attrs))
				if got := e.cond(at, &s); got != want {
					t.Errorf("%s with x=%#v (slots): fused %d, generic %d", e.keys[fi], v, got, want)
				}
			}
		}
	}
	for o := fStarts; o <= fMatch; o++ {
		if !seen[o] {
			t.Errorf("fused op %d not exercised", o)
		}
	}
}

// allNodes returns a copy of e in which every IR node is prepared, at its
// IR index, the operands that Load leaves out under a fused node
// included, so that the generic form of any node can be evaluated.
func allNodes(e *Engine, b *ir.Bundle) *Engine {
	g := *e
	g.nodes, g.args = make([]pnode, len(b.Nodes)), b.Args
	g.wide, g.strs, g.sets, g.res = nil, nil, nil, nil
	at := make([]int32, len(b.Nodes))
	for j := range at {
		at[j] = int32(j)
	}
	res := map[string]int32{}
	for j := range b.Nodes {
		p := plan(b, int32(j))
		if err := g.complete(b, int32(j), &p, at, res); err != nil {
			panic(err)
		}
		g.nodes[j] = p
	}
	return &g
}

// TestFusedOperandsNotPrepared checks that Load keeps only what
// evaluation reaches: the attribute and constant operands of a fused
// comparison are left out, a generic node's operands are kept.
func TestFusedOperandsNotPrepared(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	list := b.Node(ir.OpConst, b.Const(ir.Const{Kind: ir.ConstList, List: []ir.Const{{Kind: ir.ConstString, Str: "US"}}}), 0)
	fused := b.Node(ir.OpIn, b.AttrNode("country"), list)
	generic := b.Node(ir.OpEq, b.AttrNode("plan"), b.AttrNode("tier"))
	b.Bundle.Flags = []ir.Flag{{Key: "f", Type: ir.TypeBoolean, Variants: boolVariants(), Enabled: true,
		Rules:   []ir.Rule{{ID: "r", When: b.Node(ir.OpOr, fused, generic), Serve: fixed(1)}},
		Default: fixed(0), Salt: "f"}}
	e := mustLoad(t, b.Bundle)
	// IR: country, list, in, plan, tier, eq, or; kept: in, plan, tier, eq, or.
	var ops []pop
	for _, p := range e.nodes {
		ops = append(ops, p.op)
	}
	want := []pop{fInSet, pop(ir.OpAttr), pop(ir.OpAttr), pop(ir.OpEq), pop(ir.OpOr)}
	if len(b.Bundle.Nodes) != 7 || !slices.Equal(ops, want) || len(e.wide) != 0 {
		t.Errorf("kept nodes %v (wide %v), want %v", ops, e.wide, want)
	}
	for _, c := range []struct {
		ctx  Context
		want any
	}{{Context{"country": "US"}, true}, {Context{"plan": "x", "tier": "x"}, true}, {Context{"plan": "x", "tier": "y"}, false}} {
		if r := e.Evaluate("f", c.ctx, testNow); r.Value != c.want {
			t.Errorf("%v: %+v", c.ctx, r)
		}
	}
}
