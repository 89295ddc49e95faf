package ir

import (
	"strconv"
	"strings"
)

// The one renderer of IR for people: the CLI's inspect and diff output and
// the golden files of the compiler's tests all go through it. It accepts
// any Bundle, valid or not: a reference the bundle cannot resolve (an
// index out of range of its table) is rendered as "#" and the index in
// place of the name.

// String returns the operator's name in the Tree notation ("and",
// "endsWith", "inSegment"), or "op(N)" for a value that is not an
// operator.
func (o Op) String() string {
	switch o {
	case OpInvalid:
		return "invalid"
	case OpConst:
		return "const"
	case OpAttr:
		return "attr"
	case OpNow:
		return "now"
	case OpNot:
		return "not"
	case OpAnd:
		return "and"
	case OpOr:
		return "or"
	case OpEq:
		return "eq"
	case OpNe:
		return "ne"
	case OpLt:
		return "lt"
	case OpLe:
		return "le"
	case OpGt:
		return "gt"
	case OpGe:
		return "ge"
	case OpIn:
		return "in"
	case OpStartsWith:
		return "startsWith"
	case OpEndsWith:
		return "endsWith"
	case OpContains:
		return "contains"
	case OpMatches:
		return "matches"
	case OpSize:
		return "size"
	case OpHas:
		return "has"
	case OpSemver:
		return "semver"
	case OpTimestamp:
		return "timestamp"
	case OpInSegment:
		return "inSegment"
	case OpVariant:
		return "variant"
	case OpList:
		return "list"
	case OpBool:
		return "bool"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// String renders the constant as a literal of the expression language:
// true, 2.5, "pro" (Go-quoted), ["US", "CA"]; null for ConstNull.
func (c Const) String() string {
	switch c.Kind {
	case ConstBool:
		return strconv.FormatBool(c.Bool)
	case ConstNum:
		return strconv.FormatFloat(c.Num, 'g', -1, 64)
	case ConstString:
		return strconv.Quote(c.Str)
	case ConstList:
		parts := make([]string, len(c.List))
		for i, e := range c.List {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}

// Notation selects how FormatExpr renders an expression.
type Notation uint8

// Notations.
const (
	// Source is the expression language as an author writes it
	// (docs/expressions.md): infix operators, parentheses only where
	// precedence needs them, and no trace of the bool() wrappers the
	// compiler adds. The text is equivalent, not identical, to the
	// author's: the compiler's rewrites show through.
	Source Notation = iota
	// Tree shows every node as name(operands) with Op.String names, the
	// compiler's bool() wrappers and attr() reads included, so the shape
	// of the node tree is exact: for golden files and lowering tests.
	Tree
)

// FormatExpr renders the expression rooted at node in notation n. NoNode
// (an absent condition, which always holds) renders as "true".
func (b *Bundle) FormatExpr(node int32, n Notation) string {
	if node == NoNode {
		return "true"
	}
	r := renderer{b: b}
	if n == Tree {
		return r.tree(node)
	}
	return r.expr(node, 0)
}

// FormatServe renders what s serves for flag f: a variant name ("on"), or
// a split "split on:25 off:75", followed by " by ATTR" when it buckets on
// an attribute other than targetingKey.
func (b *Bundle) FormatServe(f *Flag, s Serve) string {
	if len(s.Split) == 0 {
		return f.VariantName(s.Variant)
	}
	parts := make([]string, len(s.Split))
	for i, w := range s.Split {
		parts[i] = f.VariantName(w.Variant) + ":" + strconv.FormatUint(uint64(w.Weight), 10)
	}
	out := "split " + strings.Join(parts, " ")
	if by := b.AttrName(s.BucketBy); by != "targetingKey" {
		out += " by " + by
	}
	return out
}

// AttrName returns the path of attribute i, or "#i" when b has no such
// attribute.
func (b *Bundle) AttrName(i int32) string { return renderer{b: b}.attr(i) }

// VariantName returns the name of f's variant i, or "#i" when f has no
// such variant.
func (f *Flag) VariantName(i int32) string {
	if i < 0 || int(i) >= len(f.Variants) {
		return unresolved(i)
	}
	return f.Variants[i].Name
}

func unresolved(i int32) string { return "#" + strconv.Itoa(int(i)) }

type renderer struct{ b *Bundle }

func (r renderer) node(n int32) Node {
	if n < 0 || int(n) >= len(r.b.Nodes) {
		return Node{Op: OpInvalid, A: n}
	}
	return r.b.Nodes[n]
}

func (r renderer) attr(i int32) string {
	if i < 0 || int(i) >= len(r.b.Attributes) {
		return unresolved(i)
	}
	return r.b.Attributes[i]
}

func (r renderer) constant(i int32) string {
	if i < 0 || int(i) >= len(r.b.Consts) {
		return unresolved(i)
	}
	return r.b.Consts[i].String()
}

func (r renderer) segment(i int32) string {
	if i < 0 || int(i) >= len(r.b.Segments) {
		return unresolved(i)
	}
	return strconv.Quote(r.b.Segments[i].Name)
}

func (r renderer) flag(i int32) string {
	if i < 0 || int(i) >= len(r.b.Flags) {
		return unresolved(i)
	}
	return strconv.Quote(r.b.Flags[i].Key)
}

// args returns the operand nodes of an OpList node, as far as they are in
// range.
func (r renderer) args(nd Node) []int32 {
	if nd.A < 0 || nd.B < 0 || int64(nd.A)+int64(nd.B) > int64(len(r.b.Args)) {
		return nil
	}
	return r.b.Args[nd.A : nd.A+nd.B]
}

// tree renders node n in the Tree notation.
func (r renderer) tree(n int32) string {
	nd := r.node(n)
	call := func(operands ...string) string {
		return nd.Op.String() + "(" + strings.Join(operands, ", ") + ")"
	}
	switch nd.Op {
	case OpConst:
		return r.constant(nd.A)
	case OpAttr, OpHas:
		return call(r.attr(nd.A))
	case OpNow:
		return "now"
	case OpNot, OpSize, OpSemver, OpTimestamp, OpBool:
		return call(r.tree(nd.A))
	case OpAnd, OpOr, OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpStartsWith, OpEndsWith, OpContains:
		return call(r.tree(nd.A), r.tree(nd.B))
	case OpMatches:
		return call(r.tree(nd.A), r.constant(nd.B))
	case OpInSegment:
		return call(r.segment(nd.A))
	case OpVariant:
		return call(r.flag(nd.A))
	case OpList:
		args := r.args(nd)
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = r.tree(a)
		}
		return call(parts...)
	}
	if n < 0 || int(n) >= len(r.b.Nodes) {
		return unresolved(n)
	}
	return nd.Op.String()
}

// Precedence levels of the Source notation (higher binds tighter), as in
// CEL.
const (
	precOr = iota + 1
	precAnd
	precRel
	precUnary
	precPrimary
)

func (r renderer) prec(n int32) int {
	switch nd := r.node(n); nd.Op {
	case OpOr:
		return precOr
	case OpAnd:
		return precAnd
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn:
		return precRel
	case OpNot:
		return precUnary
	case OpBool:
		return r.prec(nd.A)
	}
	return precPrimary
}

// expr renders n in the Source notation, parenthesised when its
// precedence is below min.
func (r renderer) expr(n int32, min int) string {
	s := r.source(n)
	if r.prec(n) < min {
		return "(" + s + ")"
	}
	return s
}

// infix returns the Source spelling of a binary operator, or "".
func infix(o Op) string {
	switch o {
	case OpAnd:
		return "&&"
	case OpOr:
		return "||"
	case OpEq:
		return "=="
	case OpNe:
		return "!="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	case OpIn:
		return "in"
	}
	return ""
}

func (r renderer) source(n int32) string {
	nd := r.node(n)
	if op := infix(nd.Op); op != "" {
		prec := r.prec(n)
		// Left-associative: the right operand needs strictly higher
		// precedence unless the operator is associative (&&, ||).
		right := prec + 1
		if prec == precAnd || prec == precOr {
			right = prec
		}
		return r.expr(nd.A, prec) + " " + op + " " + r.expr(nd.B, right)
	}
	switch nd.Op {
	case OpConst:
		return r.constant(nd.A)
	case OpAttr:
		return r.attr(nd.A)
	case OpNow:
		return "now"
	case OpNot:
		return "!" + r.expr(nd.A, precUnary)
	case OpStartsWith, OpEndsWith, OpContains:
		return r.expr(nd.A, precPrimary) + "." + nd.Op.String() + "(" + r.expr(nd.B, 0) + ")"
	case OpMatches:
		return r.expr(nd.A, precPrimary) + ".matches(" + r.constant(nd.B) + ")"
	case OpSize, OpSemver, OpTimestamp:
		return nd.Op.String() + "(" + r.expr(nd.A, 0) + ")"
	case OpHas:
		return "has(" + r.attr(nd.A) + ")"
	case OpInSegment:
		return "inSegment(" + r.segment(nd.A) + ")"
	case OpVariant:
		return "variant(" + r.flag(nd.A) + ")"
	case OpList:
		args := r.args(nd)
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = r.expr(a, 0)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case OpBool:
		return r.source(nd.A)
	}
	return r.tree(n)
}
