package compile

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// dump renders a bundle as deterministic, human-readable text for golden
// files, through bundle/ir's renderer: conditions in the Tree notation
// (every node, so compiler changes show up as readable diffs), serves as
// the CLI shows them.
func dump(b *ir.Bundle) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "project %s environment %s audience %s\n", b.Project, b.Environment, b.Audience)
	fmt.Fprintf(&sb, "tables: %d attributes, %d consts, %d nodes, %d args\n", len(b.Attributes), len(b.Consts), len(b.Nodes), len(b.Args))
	fmt.Fprintf(&sb, "attributes: %s\n", strings.Join(b.Attributes, ", "))
	for _, s := range b.Segments {
		fmt.Fprintf(&sb, "\nsegment %s\n", s.Name)
		if s.When != ir.NoNode {
			fmt.Fprintf(&sb, "  when %s\n", b.FormatExpr(s.When, ir.Tree))
		}
		if s.KeyAttr != ir.NoNode {
			fmt.Fprintf(&sb, "  keys on %s: %s\n", b.AttrName(s.KeyAttr), strings.Join(s.Keys, ", "))
		}
		if len(s.KeySalt) > 0 {
			fmt.Fprintf(&sb, "  key salt %s\n", hex.EncodeToString(s.KeySalt))
			for _, d := range s.KeyDigests {
				fmt.Fprintf(&sb, "  key digest %s\n", hex.EncodeToString(d[:]))
			}
		}
	}
	for i := range b.Flags {
		f := &b.Flags[i]
		fmt.Fprintf(&sb, "\nflag %s (%s) enabled=%t salt=%s\n", f.Key, f.Type, f.Enabled, f.Salt)
		for i, v := range f.Variants {
			fmt.Fprintf(&sb, "  variant %d %s = %s\n", i, v.Name, v.Value)
		}
		fmt.Fprintf(&sb, "  default variant %s, off variant %s\n", f.VariantName(f.DefaultVariant), f.VariantName(f.OffVariant))
		for _, r := range f.Rules {
			fmt.Fprintf(&sb, "  rule %s: when %s serve %s\n", r.ID, b.FormatExpr(r.When, ir.Tree), b.FormatServe(f, r.Serve))
		}
		fmt.Fprintf(&sb, "  default serve %s\n", b.FormatServe(f, f.Default))
		for _, m := range f.Metadata {
			fmt.Fprintf(&sb, "  meta %s = %s\n", m.Key, m.Value)
		}
	}
	return sb.String()
}
