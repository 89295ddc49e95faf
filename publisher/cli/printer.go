package cli

import (
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// FormatCondition renders the IR expression rooted at node back into the
// expression language (docs/expressions.md), for diffs and inspect. The text
// is equivalent, not identical, to what the author wrote: the compiler's
// rewrites (fused constants, implicit bool wrappers) show through, and
// parentheses appear only where precedence needs them.
func FormatCondition(b *ir.Bundle, node int32) string {
	if node == ir.NoNode {
		return "true"
	}
	p := printer{b: b}
	return p.expr(node, 0)
}

type printer struct{ b *ir.Bundle }

// precedence levels (higher binds tighter), as in CEL.
const (
	precOr = iota + 1
	precAnd
	precRel
	precUnary
	precPrimary
)

func (p printer) prec(n int32) int {
	switch p.node(n).Op {
	case ir.OpOr:
		return precOr
	case ir.OpAnd:
		return precAnd
	case ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe, ir.OpIn:
		return precRel
	case ir.OpNot:
		return precUnary
	case ir.OpBool:
		return p.prec(p.node(n).A)
	}
	return precPrimary
}

func (p printer) node(n int32) ir.Node {
	if n < 0 || int(n) >= len(p.b.Nodes) {
		return ir.Node{Op: ir.OpInvalid}
	}
	return p.b.Nodes[n]
}

// expr renders n, parenthesised when its precedence is below min.
func (p printer) expr(n int32, min int) string {
	s := p.render(n)
	if p.prec(n) < min {
		return "(" + s + ")"
	}
	return s
}

func (p printer) attr(i int32) string {
	if i < 0 || int(i) >= len(p.b.Attributes) {
		return "<attr?>"
	}
	return p.b.Attributes[i]
}

func (p printer) constant(i int32) string {
	if i < 0 || int(i) >= len(p.b.Consts) {
		return "<const?>"
	}
	return formatConst(p.b.Consts[i])
}

func formatConst(c ir.Const) string {
	switch c.Kind {
	case ir.ConstBool:
		return strconv.FormatBool(c.Bool)
	case ir.ConstNum:
		return strconv.FormatFloat(c.Num, 'g', -1, 64)
	case ir.ConstString:
		return strconv.Quote(c.Str)
	case ir.ConstList:
		parts := make([]string, len(c.List))
		for i, e := range c.List {
			parts[i] = formatConst(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}

func (p printer) render(n int32) string {
	nd := p.node(n)
	bin := func(op string, prec int) string {
		// Left-associative: the right operand needs strictly higher
		// precedence unless the operator is associative (&&, ||).
		right := prec + 1
		if prec == precAnd || prec == precOr {
			right = prec
		}
		return p.expr(nd.A, prec) + " " + op + " " + p.expr(nd.B, right)
	}
	method := func(name string) string {
		return p.expr(nd.A, precPrimary) + "." + name + "(" + p.expr(nd.B, 0) + ")"
	}
	switch nd.Op {
	case ir.OpConst:
		return p.constant(nd.A)
	case ir.OpAttr:
		return p.attr(nd.A)
	case ir.OpNow:
		return "now"
	case ir.OpNot:
		return "!" + p.expr(nd.A, precUnary)
	case ir.OpAnd:
		return bin("&&", precAnd)
	case ir.OpOr:
		return bin("||", precOr)
	case ir.OpEq:
		return bin("==", precRel)
	case ir.OpNe:
		return bin("!=", precRel)
	case ir.OpLt:
		return bin("<", precRel)
	case ir.OpLe:
		return bin("<=", precRel)
	case ir.OpGt:
		return bin(">", precRel)
	case ir.OpGe:
		return bin(">=", precRel)
	case ir.OpIn:
		return bin("in", precRel)
	case ir.OpStartsWith:
		return method("startsWith")
	case ir.OpEndsWith:
		return method("endsWith")
	case ir.OpContains:
		return method("contains")
	case ir.OpMatches:
		return p.expr(nd.A, precPrimary) + ".matches(" + p.constant(nd.B) + ")"
	case ir.OpSize:
		return "size(" + p.expr(nd.A, 0) + ")"
	case ir.OpHas:
		return "has(" + p.attr(nd.A) + ")"
	case ir.OpSemver:
		return "semver(" + p.expr(nd.A, 0) + ")"
	case ir.OpTimestamp:
		return "timestamp(" + p.expr(nd.A, 0) + ")"
	case ir.OpInSegment:
		name := "<segment?>"
		if nd.A >= 0 && int(nd.A) < len(p.b.Segments) {
			name = p.b.Segments[nd.A].Name
		}
		return "inSegment(" + strconv.Quote(name) + ")"
	case ir.OpVariant:
		key := "<flag?>"
		if nd.A >= 0 && int(nd.A) < len(p.b.Flags) {
			key = p.b.Flags[nd.A].Key
		}
		return "variant(" + strconv.Quote(key) + ")"
	case ir.OpList:
		var parts []string
		for i := nd.A; i < nd.A+nd.B && int(i) < len(p.b.Args) && i >= 0; i++ {
			parts = append(parts, p.expr(p.b.Args[i], 0))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case ir.OpBool:
		return p.render(nd.A)
	}
	return "<op " + strconv.Itoa(int(nd.Op)) + ">"
}

// FormatServe renders what a rule or default serves: "on", or
// "split on:25 off:75 by accountId" (bucketing attribute shown when it is
// not targetingKey).
func FormatServe(b *ir.Bundle, f *ir.Flag, s ir.Serve) string {
	if len(s.Split) == 0 {
		return variantName(f, s.Variant)
	}
	parts := make([]string, len(s.Split))
	for i, w := range s.Split {
		parts[i] = variantName(f, w.Variant) + ":" + strconv.FormatInt(int64(w.Weight), 10)
	}
	out := "split " + strings.Join(parts, " ")
	if s.BucketBy >= 0 && int(s.BucketBy) < len(b.Attributes) && b.Attributes[s.BucketBy] != "targetingKey" {
		out += " by " + b.Attributes[s.BucketBy]
	}
	return out
}

func variantName(f *ir.Flag, i int32) string {
	if i < 0 || int(i) >= len(f.Variants) {
		return "<variant?>"
	}
	return f.Variants[i].Name
}
