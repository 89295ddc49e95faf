package host

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// deepBundle is a bundle at the limits that decide how deep evaluation
// recurses: 33 flags, each one's rule a condition ir.MaxNodeDepth nodes
// deep over variant() of the next (the engine follows 32 of them), and a
// rule matching a pattern of 200 nested groups.
func deepBundle(t testing.TB) []byte {
	t.Helper()
	b := ir.NewBuilder("deep", "prod", ir.AudienceServer)
	vars := []ir.Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}}
	const chain = 33
	for i := 0; i < chain; i++ {
		var n int32
		if i+1 < chain {
			n = b.Node(ir.OpEq, b.Node(ir.OpVariant, int32(i+1), 0), b.Str("on")) // 2 deep
		} else {
			n = b.Node(ir.OpEq, b.AttrNode("plan"), b.Str("pro"))
		}
		for d := 2; d < ir.MaxNodeDepth; d += 2 {
			n = b.Node(ir.OpNot, b.Node(ir.OpNot, n, 0), 0)
		}
		b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{Key: "f" + strconv.Itoa(100+i), Type: ir.TypeBoolean, Variants: vars,
			Enabled: true, Salt: "s", Rules: []ir.Rule{{ID: "r", When: n, Serve: ir.Serve{Variant: 1, BucketBy: ir.NoNode}}},
			Default: ir.Serve{Variant: 0, BucketBy: ir.NoNode}})
	}
	re := strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200) + `|^\w+$`
	m := b.Node(ir.OpMatches, b.AttrNode("plan"), b.Const(ir.Const{Kind: ir.ConstString, Str: re}))
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{Key: "re", Type: ir.TypeBoolean, Variants: vars, Enabled: true, Salt: "s",
		Rules:   []ir.Rule{{ID: "r", When: m, Serve: ir.Serve{Variant: 1, BucketBy: ir.NoNode}}},
		Default: ir.Serve{Variant: 0, BucketBy: ir.NoNode}})
	enc, err := ir.Encode(b.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestDeepBundleOnEveryModule: the deepest evaluation a valid bundle
// allows, with contexts nested as deep as the JSON parser accepts, gives
// the native results on every module: no module runs out of stack (TinyGo
// cannot grow one), and the limits hold in every build alike.
func TestDeepBundleOnEveryModule(t *testing.T) {
	enc := deepBundle(t)
	b := mustDecode(t, enc)
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	sealed := seal(t, enc, 1)
	native, err := envelope.Open(sealed, nativeTrust(t, b, openAt))
	if err != nil {
		t.Fatal(err)
	}
	deepCtx := `{"plan":"pro","x":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`
	contexts := []string{`{"plan":"pro"}`, `{"plan":"a"}`, `{"plan":"free"}`, deepCtx}
	forEachModule(t, func(t *testing.T, m wasmbuild.Spec) {
		h := newHost(t, m, Options{Instances: 1})
		ctx := context.Background()
		if err := h.SetTrust(ctx, trustFor(b)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Open(ctx, sealed, openAt); err != nil {
			t.Fatal(err)
		}
		for _, c := range contexts {
			got, err := h.AppendEvaluateAll(ctx, nil, []byte(c), openAt)
			if err != nil {
				t.Fatalf("context %.30s: %v", c, err)
			}
			ec, err := ir.ParseJSON([]byte(c))
			if err != nil {
				t.Fatal(err)
			}
			want := cliJSON(t, native.Engine.EvaluateAll(eval.Context(ec.(map[string]any)), openAt, nil), true)
			if !bytes.Equal(got, want) {
				t.Fatalf("context %.30s:\nmodule %s\nnative %s", c, got, want)
			}
		}
	})
}
