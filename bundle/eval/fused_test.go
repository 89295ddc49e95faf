package eval

import (
	"fmt"
	"math"
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
		matches(at("x"), "^m+$"))
	for i, c := range conds {
		triFlag(b, fmt.Sprintf("f%03d", i), c)
	}
	e := mustLoad(t, b.Bundle)
	values := []any{nil, 3.0, 2, 4.5, math.NaN(), "m", "mm", "", "a", "US", "CA", "CAN", "CX", true, false, []any{"m"}}
	seen := map[pop]bool{}
	for _, v := range values {
		ctxs := []Context{{"x": v}}
		if v == nil {
			ctxs = append(ctxs, Context{}) // missing, not null
		}
		for _, ctx := range ctxs {
			for fi, f := range e.flags {
				i := f.rules[0].when
				p := e.nodes[i]
				seen[p.op] = true
				nd := b.Bundle.Nodes[i]
				generic := pnode{op: pop(nd.Op), sub: nd.Op, a: nd.A, b: nd.B, x: p.x}
				s := state{ctx: ctx, now: testNow}
				got := e.cond(i, &s)
				want := e.condSlow(&generic, &s)
				if got != want {
					t.Errorf("%s with x=%#v: fused %d, generic %d", e.keys[fi], v, got, want)
				}
				s.slots = make([]val, len(e.attrs))
				if got := e.cond(i, &s); got != want {
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
