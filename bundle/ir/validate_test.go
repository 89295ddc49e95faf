package ir

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// validBundle builds a small bundle exercising every table: two segments,
// two flags, a prerequisite, a split, metadata.
func validBundle() *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	email := b.AttrNode("email")
	staff := b.Node(OpEndsWith, email, b.Str("@example.com"))
	plan := b.Node(OpEq, b.AttrNode("plan"), b.Str("pro"))
	both := b.Node(OpAnd, staff, plan)
	b.Bundle.Segments = []Segment{
		{Name: "internal", When: staff, KeyAttr: NoNode},
		{Name: "vip", When: NoNode, KeyAttr: b.Attr("accountId"), Keys: []string{"a", "b"}},
	}
	inSeg := b.Node(OpInSegment, 1, 0)
	pre := b.Node(OpEq, b.Node(OpVariant, 1, 0), b.Str("on"))
	bv := []Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}}
	b.Bundle.Flags = []Flag{
		{Key: "a", Type: TypeBoolean, Variants: bv, Enabled: true, Salt: "a",
			Rules: []Rule{{ID: "r1", When: both, Serve: Serve{Variant: 1, BucketBy: NoNode}},
				{ID: "r2", When: pre, Serve: Serve{Variant: 1, BucketBy: NoNode}}},
			Default:  Serve{Variant: NoNode, BucketBy: b.Attr("targetingKey"), Split: []Weight{{0, 1}, {1, 1}}},
			Metadata: []Meta{{Key: "owner", Value: Const{Kind: ConstString, Str: "x"}}}},
		{Key: "b", Type: TypeString, Variants: []Variant{{Name: "on", Value: []byte(`"on"`)}}, Enabled: true,
			Rules:   []Rule{{ID: "r1", When: b.Node(OpInSegment, 0, 0), Serve: Serve{Variant: 0, BucketBy: NoNode}}},
			Default: Serve{Variant: 0, BucketBy: NoNode}, Salt: "b"},
		{Key: "c", Type: TypeObject, Variants: []Variant{{Name: "x", Value: []byte(` {"a": [1, -2.5e3, "\u00e9", null, {}]} `)}},
			Rules:   []Rule{{ID: "r", When: inSeg, Serve: Serve{Variant: 0, BucketBy: NoNode}}},
			Default: Serve{Variant: 0, BucketBy: NoNode}},
	}
	return b.Bundle
}

func TestValidateOK(t *testing.T) {
	if err := validBundle().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(b *Bundle)
		want   string
	}{
		{"audience", func(b *Bundle) { b.Audience = 3 }, "invalid audience"},
		{"const kind", func(b *Bundle) { b.Consts = append(b.Consts, Const{Kind: 9}) }, "invalid kind"},
		{"nested list", func(b *Bundle) {
			b.Consts = append(b.Consts, Const{Kind: ConstList, List: []Const{{Kind: ConstList}}})
		}, "list element"},
		{"nan const", func(b *Bundle) { b.Consts = append(b.Consts, Const{Kind: ConstNum, Num: math.NaN()}) }, "not finite"},
		{"and of value", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpAnd, A: 0, B: 0})
			b.Flags[0].Rules[0].When = int32(len(b.Nodes) - 1)
		}, `flag "a" rule 1: node 12: operand of and() is not boolean`},
		{"eq of bool", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpEq, A: 2, B: 0})
			b.Flags[0].Rules[1].When = int32(len(b.Nodes) - 1)
		}, `flag "a" rule 2: node 12: operand of eq() is not a value`},
		{"forward child", func(b *Bundle) { b.Nodes[2].A = 5 }, `segment "internal": node 2: operand 5 of endsWith() is not an earlier node`},
		{"self child", func(b *Bundle) { b.Nodes[2].B = 2 }, "not an earlier node"},
		{"attr range", func(b *Bundle) { b.Nodes[0].A = 99 }, "attribute index 99 out of range"},
		{"const range", func(b *Bundle) { b.Nodes[1].A = -1 }, "const index -1 out of range"},
		{"op range", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: Op(NumOps)}) }, "node 12: invalid op"},
		{"matches non-string", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpMatches, A: 0, B: 0})
		}, "", // consts[0] is "@example.com": valid; checked below with a number
		},
		{"matches number", func(b *Bundle) {
			b.Consts = append(b.Consts, Const{Kind: ConstNum, Num: 1})
			b.Nodes = append(b.Nodes, Node{Op: OpMatches, A: 0, B: int32(len(b.Consts) - 1)})
		}, "pattern of matches() is not a string constant"},
		{"has of node", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: OpHas, A: 50}) }, "attribute index 50"},
		{"in const non-list", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: OpIn, A: 0, B: 1}) }, "not a list"},
		{"list args", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: OpList, A: 0, B: 3}) }, "list(): args"},
		{"segment index", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: OpInSegment, A: 2}) }, "segment index 2"},
		{"flag index", func(b *Bundle) { b.Nodes = append(b.Nodes, Node{Op: OpVariant, A: 3}) }, "flag index 3"},
		{"root value", func(b *Bundle) { b.Flags[1].Rules[0].When = 0 }, `flag "b" rule 1: node 0: root attr() is not boolean`},
		{"root range", func(b *Bundle) { b.Flags[1].Rules[0].When = 1000 }, "root node 1000 out of range"},
		{"segment root", func(b *Bundle) { b.Segments[0].When = 1 }, `segment "internal": node 1: root const()`},
		{"flags sorted", func(b *Bundle) { b.Flags[0].Key = "z" }, "flags not sorted"},
		{"flags dup", func(b *Bundle) { b.Flags[1].Key = "a" }, "flags not sorted"},
		{"segments sorted", func(b *Bundle) { b.Segments[1].Name = "a" }, "segments not sorted"},
		{"variants sorted", func(b *Bundle) { b.Flags[0].Variants[0].Name = "zz" }, "variants not sorted"},
		{"keys sorted", func(b *Bundle) { b.Segments[1].Keys = []string{"b", "a"} }, "keys not sorted"},
		{"client raw keys", func(b *Bundle) { b.Audience = AudienceClient }, "raw keys in a client bundle"},
		{"keys no attr", func(b *Bundle) { b.Segments[1].KeyAttr = NoNode }, "key list without key attribute"},
		{"type", func(b *Bundle) { b.Flags[0].Type = 5 }, "invalid type"},
		{"no variants", func(b *Bundle) { b.Flags[1].Variants = nil }, "no variants"},
		{"default variant", func(b *Bundle) { b.Flags[0].DefaultVariant = 2 }, "default variant 2"},
		{"off variant", func(b *Bundle) { b.Flags[0].OffVariant = -1 }, "off variant -1"},
		{"serve variant", func(b *Bundle) { b.Flags[1].Default.Variant = 1 }, `flag "b" default: variant 1 out of range`},
		{"split zero", func(b *Bundle) { b.Flags[0].Default.Split = []Weight{{0, 0}} }, "sum to 0"},
		{"split overflow", func(b *Bundle) {
			b.Flags[0].Default.Split = []Weight{{0, math.MaxUint32}, {1, 1}}
		}, "over 2^32-1"},
		{"split variant", func(b *Bundle) { b.Flags[0].Default.Split[1].Variant = 7 }, "split variant 7"},
		{"split bucketBy", func(b *Bundle) { b.Flags[0].Default.BucketBy = NoNode }, "bucketBy attribute -1"},
		{"split and variant", func(b *Bundle) { b.Flags[0].Default.Variant = 0 }, "both a variant and a split"},
		{"bool json", func(b *Bundle) { b.Flags[0].Variants[0].Value = []byte(`"false"`) }, "not a JSON boolean"},
		{"string json", func(b *Bundle) { b.Flags[1].Variants[0].Value = []byte(`on`) }, "JSON"},
		{"bad escape", func(b *Bundle) { b.Flags[1].Variants[0].Value = []byte(`"\q"`) }, "invalid escape"},
		{"trailing", func(b *Bundle) { b.Flags[1].Variants[0].Value = []byte(`"a" "b"`) }, "trailing data"},
		{"object json", func(b *Bundle) { b.Flags[2].Variants[0].Value = []byte(`{"a":}`) }, "unexpected character"},
		{"object not object", func(b *Bundle) { b.Flags[2].Variants[0].Value = []byte(`1`) }, "not a JSON object"},
		{"number overflow", func(b *Bundle) {
			b.Flags[1].Type = TypeNumber
			b.Flags[1].Variants[0].Value = []byte(`1e999`)
		}, "out of range"},
		{"leading zero", func(b *Bundle) {
			b.Flags[1].Type = TypeNumber
			b.Flags[1].Variants[0].Value = []byte(`01`)
		}, "leading zero"},
		{"deep json", func(b *Bundle) {
			b.Flags[2].Variants[0].Value = []byte(strings.Repeat("[", 100) + strings.Repeat("]", 100))
		}, "too deep"},
		{"metadata value", func(b *Bundle) { b.Flags[0].Metadata[0].Value = Const{Kind: ConstList} }, "not a string, number or boolean"},
		{"prerequisite cycle", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpVariant, A: 0})
			b.Nodes = append(b.Nodes, Node{Op: OpEq, A: int32(len(b.Nodes) - 1), B: 3})
			b.Flags[1].Rules[0].When = int32(len(b.Nodes) - 1)
		}, `reference cycle`},
		{"self prerequisite", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpVariant, A: 2}, Node{Op: OpEq, A: 12, B: 9})
			b.Flags[2].Rules[0].When = 13
		}, `flag "c": reference cycle through flag "c"`},
		{"cycle through segment", func(b *Bundle) {
			// segment internal -> variant(c); flag c -> inSegment(internal).
			b.Nodes = append(b.Nodes, Node{Op: OpVariant, A: 2}, Node{Op: OpEq, A: 12, B: 9})
			b.Segments[0].When = 13
			b.Flags[2].Rules[0].When = 11 // inSegment(internal)
		}, "reference cycle"},
		{"segment cycle", func(b *Bundle) {
			b.Nodes = append(b.Nodes, Node{Op: OpInSegment, A: 0})
			b.Segments[0].When = 12
		}, `segment "internal": reference cycle`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := validBundle()
			c.mutate(b)
			err := b.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "validate bundle: ") {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
			if !errors.Is(err, ErrInvalid) || strings.Count(err.Error(), "validate bundle") != 1 {
				t.Fatalf("error %q does not wrap ErrInvalid once", err)
			}
		})
	}
}

func TestValidateNodeLayout(t *testing.T) {
	// The node indices assumed by TestValidateErrors.
	b := validBundle()
	if len(b.Nodes) != 12 || b.Nodes[2].Op != OpEndsWith || b.Nodes[11].Op != OpInSegment || b.Nodes[11].A != 0 ||
		b.Nodes[9].Op != OpConst || b.Consts[b.Nodes[9].A].Str != "on" {
		for i, n := range b.Nodes {
			t.Logf("%d: %s %d %d", i, n.Op, n.A, n.B)
		}
		t.Fatal("node layout changed; update the indices in TestValidateErrors")
	}
}

// TestValidateNodeDepth: a condition MaxNodeDepth nodes deep is valid, one
// node deeper is refused at the rule that uses it (and as an orphan).
func TestValidateNodeDepth(t *testing.T) {
	build := func(depth int) *Bundle {
		b := validBundle()
		bd := &Builder{Bundle: b, attrs: map[string]int32{}, consts: map[string]int32{}, nodes: map[Node]int32{}}
		n := bd.Node(OpBool, bd.AttrNode("beta"), 0) // attr (1) under bool (2)
		for d := 2; d < depth; d++ {
			n = bd.Node(OpNot, n, 0)
		}
		b.Flags[0].Rules[0].When = n
		return b
	}
	if err := build(MaxNodeDepth).Validate(); err != nil {
		t.Fatalf("depth %d: %v", MaxNodeDepth, err)
	}
	err := build(MaxNodeDepth + 1).Validate()
	if err == nil || !strings.Contains(err.Error(), `flag "a" rule 1`) || !strings.Contains(err.Error(), "nested more than 256 nodes deep") {
		t.Fatalf("depth %d: %v", MaxNodeDepth+1, err)
	}
	orphan := build(MaxNodeDepth + 1)
	orphan.Flags[0].Rules[0].When = 2
	if err := orphan.Validate(); err == nil || !strings.Contains(err.Error(), "nested more than 256 nodes deep") {
		t.Fatalf("orphan of depth %d: %v", MaxNodeDepth+1, err)
	}
}
