package expr

import "github.com/edgeflag/edgeflag/bundle/ir"

// lower appends n's IR through b and returns its node index. Unused A/B
// operands are 0.
func lower(b *ir.Builder, n *tnode) int32 {
	switch n.kind {
	case kConst:
		return b.Node(ir.OpConst, b.Const(n.c), 0)
	case kAttr:
		return b.AttrNode(n.path)
	case kNow:
		return b.Node(ir.OpNow, 0, 0)
	case kHas:
		return b.Node(ir.OpHas, b.Attr(n.path), 0)
	case kSegment:
		return b.Node(ir.OpInSegment, n.idx, 0)
	case kVariant:
		return b.Node(ir.OpVariant, n.idx, 0)
	case kMatches:
		a := lower(b, n.kids[0])
		return b.Node(ir.OpMatches, a, b.Const(ir.Const{Kind: ir.ConstString, Str: n.pattern}))
	case kList:
		elems := make([]int32, len(n.kids))
		for i, k := range n.kids {
			elems[i] = lower(b, k)
		}
		return b.List(elems)
	}
	// kOp
	a := lower(b, n.kids[0])
	var c int32
	if len(n.kids) > 1 {
		c = lower(b, n.kids[1])
	}
	return b.Node(n.op, a, c)
}
