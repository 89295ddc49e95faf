package compile

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// dump renders a bundle as deterministic, human-readable text for golden
// files: conditions are printed as expressions rebuilt from the node pool,
// so compiler changes show up as readable diffs.
func dump(b *ir.Bundle) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "project %s environment %s audience %s\n", b.Project, b.Environment, b.Audience)
	fmt.Fprintf(&sb, "tables: %d attributes, %d consts, %d nodes, %d args\n", len(b.Attributes), len(b.Consts), len(b.Nodes), len(b.Args))
	fmt.Fprintf(&sb, "attributes: %s\n", strings.Join(b.Attributes, ", "))
	attr := func(i int32) string {
		if i == ir.NoNode {
			return "-"
		}
		if i < 0 || int(i) >= len(b.Attributes) {
			return fmt.Sprintf("<attr %d?>", i)
		}
		return b.Attributes[i]
	}
	for _, s := range b.Segments {
		fmt.Fprintf(&sb, "\nsegment %s\n", s.Name)
		if s.When != ir.NoNode {
			fmt.Fprintf(&sb, "  when %s\n", renderNode(b, s.When))
		}
		if s.KeyAttr != ir.NoNode {
			fmt.Fprintf(&sb, "  keys on %s: %s\n", attr(s.KeyAttr), strings.Join(s.Keys, ", "))
		}
		if len(s.KeySalt) > 0 {
			fmt.Fprintf(&sb, "  key salt %s\n", hex.EncodeToString(s.KeySalt))
			for _, d := range s.KeyDigests {
				fmt.Fprintf(&sb, "  key digest %s\n", hex.EncodeToString(d[:]))
			}
		}
	}
	for _, f := range b.Flags {
		fmt.Fprintf(&sb, "\nflag %s (%s) enabled=%t salt=%s\n", f.Key, f.Type, f.Enabled, f.Salt)
		for i, v := range f.Variants {
			fmt.Fprintf(&sb, "  variant %d %s = %s\n", i, v.Name, v.Value)
		}
		vname := func(i int32) string {
			if i < 0 || int(i) >= len(f.Variants) {
				return fmt.Sprintf("<variant %d?>", i)
			}
			return f.Variants[i].Name
		}
		serve := func(s ir.Serve) string {
			if len(s.Split) == 0 {
				return "serve " + vname(s.Variant)
			}
			var arms []string
			for _, w := range s.Split {
				arms = append(arms, fmt.Sprintf("%s:%d", vname(w.Variant), w.Weight))
			}
			return fmt.Sprintf("split {%s} by %s", strings.Join(arms, " "), attr(s.BucketBy))
		}
		fmt.Fprintf(&sb, "  default variant %s, off variant %s\n", vname(f.DefaultVariant), vname(f.OffVariant))
		for _, r := range f.Rules {
			fmt.Fprintf(&sb, "  rule %s: when %s -> %s\n", r.ID, renderNode(b, r.When), serve(r.Serve))
		}
		fmt.Fprintf(&sb, "  default -> %s\n", serve(f.Default))
		for _, m := range f.Metadata {
			fmt.Fprintf(&sb, "  meta %s = %s\n", m.Key, renderConst(m.Value))
		}
	}
	return sb.String()
}

func renderConst(c ir.Const) string {
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
			parts[i] = renderConst(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}

var binOps = map[ir.Op]string{
	ir.OpAnd: "&&", ir.OpOr: "||", ir.OpEq: "==", ir.OpNe: "!=", ir.OpLt: "<", ir.OpLe: "<=",
	ir.OpGt: ">", ir.OpGe: ">=", ir.OpIn: "in",
}

var methods = map[ir.Op]string{ir.OpStartsWith: "startsWith", ir.OpEndsWith: "endsWith", ir.OpContains: "contains"}

// renderNode prints the expression rooted at node i.
func renderNode(b *ir.Bundle, i int32) string {
	if i < 0 || int(i) >= len(b.Nodes) {
		return fmt.Sprintf("<node %d?>", i)
	}
	n := b.Nodes[i]
	sub := func(j int32) string { return renderNode(b, j) }
	cst := func(j int32) string {
		if j < 0 || int(j) >= len(b.Consts) {
			return fmt.Sprintf("<const %d?>", j)
		}
		return renderConst(b.Consts[j])
	}
	at := func(j int32) string {
		if j < 0 || int(j) >= len(b.Attributes) {
			return fmt.Sprintf("<attr %d?>", j)
		}
		return "$" + b.Attributes[j]
	}
	if op, ok := binOps[n.Op]; ok {
		return "(" + sub(n.A) + " " + op + " " + sub(n.B) + ")"
	}
	if m, ok := methods[n.Op]; ok {
		return sub(n.A) + "." + m + "(" + sub(n.B) + ")"
	}
	switch n.Op {
	case ir.OpConst:
		return cst(n.A)
	case ir.OpAttr:
		return at(n.A)
	case ir.OpNow:
		return "now"
	case ir.OpNot:
		return "!" + sub(n.A)
	case ir.OpMatches:
		return sub(n.A) + ".matches(" + cst(n.B) + ")"
	case ir.OpSize:
		return "size(" + sub(n.A) + ")"
	case ir.OpHas:
		return "has(" + at(n.A) + ")"
	case ir.OpSemver:
		return "semver(" + sub(n.A) + ")"
	case ir.OpTimestamp:
		return "timestamp(" + sub(n.A) + ")"
	case ir.OpInSegment:
		if n.A >= 0 && int(n.A) < len(b.Segments) {
			return "inSegment(" + strconv.Quote(b.Segments[n.A].Name) + ")"
		}
		return fmt.Sprintf("inSegment(<%d?>)", n.A)
	case ir.OpVariant:
		if n.A >= 0 && int(n.A) < len(b.Flags) {
			return "variant(" + strconv.Quote(b.Flags[n.A].Key) + ")"
		}
		return fmt.Sprintf("variant(<%d?>)", n.A)
	case ir.OpList:
		var parts []string
		if n.A >= 0 && n.B >= 0 && int(n.A+n.B) <= len(b.Args) {
			for _, a := range b.Args[n.A : n.A+n.B] {
				parts = append(parts, sub(a))
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case ir.OpBool:
		return "bool(" + sub(n.A) + ")"
	}
	return fmt.Sprintf("<op %d>", n.Op)
}
