package eval

import (
	"fmt"
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
		tab := func(i int) *pvar { return e.variant(&e.flags[i], 1) }
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
		if got := e.Evaluate("d", nil, testNow); got.Value != false || e.variant(&e.flags[3], 1).name != "yes" {
			t.Errorf("%s: d: %+v", name, got)
		}
		re := e.Evaluate("e", nil, testNow).Value.(map[string]any)
		re["k"] = "changed"
		if rf := e.Evaluate("f", nil, testNow).Value.(map[string]any); rf["k"] != "v" {
			t.Errorf("%s: object value shared between flags: %v", name, rf)
		}
	}
}

// TestSpansAcrossChunks checks variant tables and metadata carved from
// the engine's chunked arenas: lists that do not fit the rest of a chunk,
// and lists longer than a chunk (which get a chunk of their own).
func TestSpansAcrossChunks(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	for i, n := range []int{3, 1000, 30, 1500, 2} {
		vs := make([]ir.Variant, n)
		md := make([]ir.Meta, n)
		for k := range vs {
			name := fmt.Sprintf("v%05d", k)
			vs[k] = ir.Variant{Name: name, Value: []byte(fmt.Sprintf(`"%d-%d"`, i, k))}
			md[k] = ir.Meta{Key: name, Value: ir.Const{Kind: ir.ConstNum, Num: float64(i*10000 + k)}}
		}
		key := fmt.Sprintf("f%d", i)
		b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{Key: key, Type: ir.TypeString, Enabled: true, Salt: key,
			Variants: vs, Metadata: md, DefaultVariant: int32(n - 1), Default: fixed(int32(n - 1))})
	}
	e := mustLoad(t, b.Bundle)
	for i, f := range b.Bundle.Flags {
		r := e.Evaluate(f.Key, nil, testNow)
		n := len(f.Variants)
		if want := fmt.Sprintf("%d-%d", i, n-1); r.Value != want || r.Variant != f.Variants[n-1].Name {
			t.Errorf("%s: %+v, want value %s", f.Key, r, want)
		}
		if len(r.Metadata) != n || r.Metadata[n-1].Value.Num != float64(i*10000+n-1) || cap(r.Metadata) != n {
			t.Errorf("%s: metadata %d entries (cap %d), last %+v", f.Key, len(r.Metadata), cap(r.Metadata), r.Metadata[len(r.Metadata)-1])
		}
	}
}
