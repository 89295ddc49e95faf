package expr

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestEnvIndexReuse checks that the segment/flag ranks computed once per
// Env stay right when one Env compiles many expressions, and are recomputed
// when names are added between calls.
func TestEnvIndexReuse(t *testing.T) {
	env := &Env{
		Segments: map[string]bool{"beta": true, "staff": true},
		Flags:    map[string][]string{"b-flag": {"on", "off"}, "d-flag": {"on", "off"}},
	}
	segIndex := func(src string) int32 {
		t.Helper()
		b := ir.NewBuilder("p", "e", ir.AudienceServer)
		info, errs := Compile(src, env, b)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", src, errs)
		}
		n := b.Bundle.Nodes[info.Root]
		if n.Op != ir.OpInSegment {
			t.Fatalf("%s: root op %d, want OpInSegment", src, n.Op)
		}
		return n.A
	}
	flagIndex := func(src string) int32 {
		t.Helper()
		b := ir.NewBuilder("p", "e", ir.AudienceServer)
		info, errs := Compile(src, env, b)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", src, errs)
		}
		eq := b.Bundle.Nodes[info.Root]
		v := b.Bundle.Nodes[eq.A]
		if v.Op != ir.OpVariant {
			t.Fatalf("%s: left operand op %d, want OpVariant", src, v.Op)
		}
		return v.A
	}
	if got := segIndex(`inSegment("staff")`); got != 1 {
		t.Errorf("staff before adding: index %d, want 1", got)
	}
	if got := flagIndex(`variant("d-flag") == "on"`); got != 1 {
		t.Errorf("d-flag before adding: index %d, want 1", got)
	}
	env.Segments["alpha"] = true
	env.Flags["a-flag"] = []string{"on"}
	if got := segIndex(`inSegment("staff")`); got != 2 {
		t.Errorf("staff after adding alpha: index %d, want 2", got)
	}
	if got := flagIndex(`variant("d-flag") == "on"`); got != 2 {
		t.Errorf("d-flag after adding a-flag: index %d, want 2", got)
	}
	if got := segIndex(`inSegment("alpha")`); got != 0 {
		t.Errorf("alpha: index %d, want 0", got)
	}
}
