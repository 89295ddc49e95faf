package ir

import (
	"math"
	"strconv"
)

// Builder appends to a Bundle's tables, interning attributes and constants
// and sharing identical nodes, so that building the same flags in the same
// order always yields the same tables. The compiler uses it; so do tests
// that build IR by hand.
type Builder struct {
	// Bundle is the bundle under construction. Callers append Segments and
	// Flags themselves.
	Bundle *Bundle

	attrs  map[string]int32
	consts map[string]int32
	nodes  map[Node]int32
}

// NewBuilder starts an empty bundle.
func NewBuilder(project, environment string, audience Audience) *Builder {
	return &Builder{
		Bundle: &Bundle{Project: project, Environment: environment, Audience: audience},
		attrs:  map[string]int32{},
		consts: map[string]int32{},
		nodes:  map[Node]int32{},
	}
}

// Attr returns the index of the attribute path, adding it on first use.
func (b *Builder) Attr(path string) int32 {
	if i, ok := b.attrs[path]; ok {
		return i
	}
	i := int32(len(b.Bundle.Attributes))
	b.Bundle.Attributes = append(b.Bundle.Attributes, path)
	b.attrs[path] = i
	return i
}

// Const returns the index of the constant, adding it on first use.
func (b *Builder) Const(c Const) int32 {
	k := constKey(c)
	if i, ok := b.consts[k]; ok {
		return i
	}
	i := int32(len(b.Bundle.Consts))
	b.Bundle.Consts = append(b.Bundle.Consts, c)
	b.consts[k] = i
	return i
}

// Node returns the index of the node (op, a, c), adding it on first use.
// Identical nodes are shared; nodes are immutable once added.
func (b *Builder) Node(op Op, a, c int32) int32 {
	n := Node{Op: op, A: a, B: c}
	if i, ok := b.nodes[n]; ok {
		return i
	}
	i := int32(len(b.Bundle.Nodes))
	b.Bundle.Nodes = append(b.Bundle.Nodes, n)
	b.nodes[n] = i
	return i
}

// List returns an OpList node over the given element nodes.
func (b *Builder) List(elems []int32) int32 {
	start := int32(len(b.Bundle.Args))
	b.Bundle.Args = append(b.Bundle.Args, elems...)
	return b.Node(OpList, start, int32(len(elems)))
}

// Str is shorthand for an OpConst node holding a string.
func (b *Builder) Str(s string) int32 {
	return b.Node(OpConst, b.Const(Const{Kind: ConstString, Str: s}), 0)
}

// Num is shorthand for an OpConst node holding a number.
func (b *Builder) Num(f float64) int32 {
	return b.Node(OpConst, b.Const(Const{Kind: ConstNum, Num: f}), 0)
}

// Bool is shorthand for an OpConst node holding a boolean.
func (b *Builder) Bool(v bool) int32 {
	return b.Node(OpConst, b.Const(Const{Kind: ConstBool, Bool: v}), 0)
}

// AttrNode is shorthand for an OpAttr node reading path.
func (b *Builder) AttrNode(path string) int32 {
	return b.Node(OpAttr, b.Attr(path), 0)
}

// constKey is an injective string form of a constant, for interning.
func constKey(c Const) string {
	buf := make([]byte, 0, 16)
	return string(appendConstKey(buf, c))
}

func appendConstKey(buf []byte, c Const) []byte {
	buf = append(buf, byte(c.Kind))
	switch c.Kind {
	case ConstBool:
		if c.Bool {
			buf = append(buf, 1)
		} else {
			buf = append(buf, 0)
		}
	case ConstNum:
		buf = strconv.AppendUint(buf, math.Float64bits(c.Num), 16)
	case ConstString:
		buf = strconv.AppendInt(buf, int64(len(c.Str)), 10)
		buf = append(buf, ':')
		buf = append(buf, c.Str...)
	case ConstList:
		buf = strconv.AppendInt(buf, int64(len(c.List)), 10)
		buf = append(buf, '[')
		for _, e := range c.List {
			buf = appendConstKey(buf, e)
		}
	}
	return buf
}
