package flagdiff

import (
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// stub renders every condition alike and serves by variant name, so the
// changes below come from the diff's own comparisons, not from rendering.
type stub struct{}

func (stub) Condition(*ir.Bundle, int32) string { return "cond" }
func (stub) Serve(b *ir.Bundle, f *ir.Flag, s ir.Serve) string {
	if len(s.Split) > 0 {
		return "split"
	}
	return stub{}.Variant(f, s.Variant)
}
func (stub) Variant(f *ir.Flag, i int32) string { return f.Variants[i].Name }
func (stub) Value(c ir.Const) string            { return c.Str }

func flag(key string, enabled bool, values ...string) ir.Flag {
	f := ir.Flag{Key: key, Type: ir.TypeString, Enabled: enabled, Salt: key, Default: ir.Serve{Variant: 0, BucketBy: ir.NoNode}}
	for i, v := range values {
		f.Variants = append(f.Variants, ir.Variant{Name: string(rune('a' + i)), Value: []byte(v)})
	}
	return f
}

func TestDiffCompares(t *testing.T) {
	from := &ir.Bundle{
		Flags:    []ir.Flag{flag("kept", true, `"x"`, `"y"`), flag("gone", true, `"x"`)},
		Segments: []ir.Segment{{Name: "s", When: ir.NoNode, KeyAttr: ir.NoNode, Keys: []string{"1", "2"}}},
	}
	from.Flags[0].Metadata = []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "ana"}}}
	to := &ir.Bundle{
		Flags:    []ir.Flag{flag("added", false, `"z"`), flag("kept", false, `"x"`, `"Y"`, `"w"`)},
		Segments: []ir.Segment{{Name: "s", When: ir.NoNode, KeyAttr: ir.NoNode, Keys: []string{"2", "3", "4"}}},
	}
	to.Flags[1].Metadata = []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "bo"}}}
	got := strings.Join(Summary(Diff(Snapshot{Server: from}, Snapshot{Server: to}, stub{})), "\n")
	want := strings.Join([]string{
		`+ flag added: string, disabled, 1 variant(s), 0 rule(s), default a`,
		`- flag gone`,
		`~ flag kept: enabled: true -> false`,
		`~ flag kept: variant b: "y" -> "Y"`,
		`~ flag kept: variant c added: "w"`,
		`~ flag kept: metadata owner: ana -> bo`,
		`~ segment s: keys: 2 -> 3 (+2 -1)`,
	}, "\n")
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if DefaultServe(&to.Flags[0]).Variant != 0 {
		t.Error("DefaultServe of a flag without a default split is not its default variant")
	}
}
