package eval

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestVariantTablesShared checks the sharing of prepared variant tables:
// LoadEncoded shares one table between consecutive flags of a type whose
// variant lists are encoded identically, Load between flags holding the
// very same slice; different names or encodings are never shared, nor
// are object values (a caller could change them).
func TestVariantTablesShared(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	add := func(key string, typ ir.FlagType, vs ...ir.Variant) {
		b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
			Key: key, Type: typ, Enabled: true, Salt: key, Variants: vs,
			DefaultVariant: 0, OffVariant: 0, Default: fixed(0),
		})
	}
	v := func(name, js string) ir.Variant { return ir.Variant{Name: name, Value: []byte(js)} }
	onOff := []ir.Variant{v("off", "false"), v("on", "true")}
	add("a", ir.TypeBoolean, onOff...)
	add("b", ir.TypeBoolean, onOff...)
	add("c", ir.TypeNumber, v("off", "0"), v("on", "1"))
	add("d", ir.TypeBoolean, v("off", "false"), v("yes", "true"))
	add("e", ir.TypeObject, v("o", `{"k":"v"}`))
	add("f", ir.TypeObject, v("o", `{"k":"v"}`))
	add("g", ir.TypeBoolean, onOff...)
	b.Bundle.Flags[6].Variants = b.Bundle.Flags[3].Variants // the same slice as d's
	data, err := ir.Encode(b.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := LoadEncoded(data, ir.Limits{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	loaded := mustLoad(t, b.Bundle)
	for name, e := range map[string]*Engine{"LoadEncoded": encoded, "Load": loaded} {
		tab := func(i int) *pvar { return &e.flags[i].vars[1] }
		if name == "LoadEncoded" && tab(0) != tab(1) {
			t.Errorf("%s: identically encoded scalar variants not shared", name)
		}
		if tab(3) != tab(6) {
			t.Errorf("%s: one variant slice not shared", name)
		}
		if tab(0) == tab(2) || tab(0) == tab(3) || tab(2) == tab(3) {
			t.Errorf("%s: different variants shared", name)
		}
		if got := e.Evaluate("c", nil, testNow); got.Value != 0.0 || got.Variant != "off" {
			t.Errorf("%s: c: %+v", name, got)
		}
		if got := e.Evaluate("d", nil, testNow); got.Value != false || e.flags[3].vars[1].name != "yes" {
			t.Errorf("%s: d: %+v", name, got)
		}
		re := e.Evaluate("e", nil, testNow).Value.(map[string]any)
		re["k"] = "changed"
		if rf := e.Evaluate("f", nil, testNow).Value.(map[string]any); rf["k"] != "v" {
			t.Errorf("%s: object value shared between flags: %v", name, rf)
		}
	}
}
