package eval

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestVariantTablesShared checks Load's sharing of variant tables: flags
// with identical scalar variants share one table, different encodings or
// names do not, and object values are never shared between flags.
func TestVariantTablesShared(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	add := func(key string, typ ir.FlagType, vs ...ir.Variant) {
		b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{
			Key: key, Type: typ, Enabled: true, Salt: key, Variants: vs,
			DefaultVariant: 0, OffVariant: 0, Default: fixed(0),
		})
	}
	v := func(name, js string) ir.Variant { return ir.Variant{Name: name, Value: []byte(js)} }
	add("a", ir.TypeBoolean, v("off", "false"), v("on", "true"))
	add("b", ir.TypeBoolean, v("off", "false"), v("on", "true"))
	add("c", ir.TypeNumber, v("off", "0"), v("on", "1"))
	add("d", ir.TypeBoolean, v("off", "false"), v("yes", "true"))
	add("e", ir.TypeObject, v("o", `{"k":"v"}`))
	add("f", ir.TypeObject, v("o", `{"k":"v"}`))
	e := mustLoad(t, b.Bundle)
	tab := func(i int) *pvar { return &e.flags[i].vars[1] }
	if tab(0) != tab(1) {
		t.Error("identical scalar variants not shared")
	}
	if tab(0) == tab(2) || tab(0) == tab(3) {
		t.Error("different variants shared")
	}
	if got := e.Evaluate("c", nil, testNow); got.Value != 0.0 || got.Variant != "off" {
		t.Errorf("c: %+v", got)
	}
	if got := e.Evaluate("d", nil, testNow); got.Value != false || e.flags[3].vars[1].name != "yes" {
		t.Errorf("d: %+v", got)
	}
	re := e.Evaluate("e", nil, testNow).Value.(map[string]any)
	re["k"] = "changed"
	if rf := e.Evaluate("f", nil, testNow).Value.(map[string]any); rf["k"] != "v" {
		t.Errorf("object value shared between flags: %v", rf)
	}
}
