package eval

import (
	"crypto/sha256"
	"reflect"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestEngineIndependentOfBundle checks that an engine from Load keeps no
// reference to the bundle it was loaded from: overwriting every slice of
// the bundle afterwards (node arguments, segment keys, salt and digests,
// variants, rules, splits, metadata) changes no result.
func TestEngineIndependentOfBundle(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	salt := []byte{7}
	digest := sha256.Sum256(append(append([]byte(nil), salt...), "u-digest"...))
	b.Bundle.Segments = []ir.Segment{
		{Name: "digests", When: ir.NoNode, KeyAttr: b.Attr("targetingKey"), KeySalt: salt, KeyDigests: [][32]byte{digest}},
		{Name: "keys", When: ir.NoNode, KeyAttr: b.Attr("targetingKey"), Keys: []string{"u-1", "u-2"}},
	}
	inList := dlist(at("plan"), st("gold"))(b) // an OpList: its operands are in Args
	meta := []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "team"}}}
	vs := []ir.Variant{{Name: "a", Value: []byte(`"a"`)}, {Name: "b", Value: []byte(`"b"`)}, {Name: "c", Value: []byte(`"c"`)}}
	b.Bundle.Flags = []ir.Flag{{Key: "f", Type: ir.TypeString, Enabled: true, Salt: "f", Variants: vs, Metadata: meta,
		Rules: []ir.Rule{
			{ID: "in-digests", When: b.Node(ir.OpInSegment, 0, 0), Serve: fixed(0)},
			{ID: "in-keys", When: b.Node(ir.OpInSegment, 1, 0), Serve: fixed(1)},
			{ID: "in-list", When: b.Node(ir.OpIn, b.AttrNode("tier"), inList), Serve: split(b, "targetingKey", ir.Weight{Variant: 0, Weight: 1}, ir.Weight{Variant: 2, Weight: 3})},
		},
		Default: split(b, "targetingKey", ir.Weight{Variant: 1, Weight: 1}, ir.Weight{Variant: 2, Weight: 1})}}
	e := mustLoad(t, b.Bundle)
	contexts := []Context{{"targetingKey": "u-digest"}, {"targetingKey": "u-2"}, {"targetingKey": "x", "tier": "gold"},
		{"targetingKey": "y", "tier": "x", "plan": "x"}, {"targetingKey": "z"}}
	var want [][]Result
	for _, c := range contexts {
		want = append(want, e.EvaluateAll(c, testNow, nil))
	}
	if want[0][0].RuleID != "in-digests" || want[1][0].RuleID != "in-keys" || want[2][0].RuleID != "in-list" ||
		want[3][0].RuleID != "in-list" || want[0][0].Metadata[0].Key != "owner" {
		t.Fatalf("test bundle does not exercise every table: %+v", want)
	}
	scribble(b.Bundle)
	for i, c := range contexts {
		if got := e.EvaluateAll(c, testNow, nil); !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("context %d: results changed after the bundle was overwritten:\n%+v\n%+v", i, got, want[i])
		}
	}
}
