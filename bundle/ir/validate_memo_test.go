package ir

import (
	"strings"
	"testing"
)

// TestValidateSharedSlicesRecheckedWhenConditionsDiffer checks that
// Validate's memo of accepted variant and rule lists (flagMemo) does not
// carry over to a flag of another type or variant count.
func TestValidateSharedSlicesRecheckedWhenConditionsDiffer(t *testing.T) {
	vs := []Variant{{Name: "a", Value: []byte(`"a"`)}, {Name: "b", Value: []byte(`"b"`)}}
	rules := []Rule{{ID: "r", When: 0, Serve: Serve{Variant: 1, BucketBy: NoNode}}}
	mk := func() *Bundle {
		b := NewBuilder("p", "e", AudienceServer)
		when := b.Node(OpBool, b.AttrNode("x"), 0)
		rules[0].When = when
		for _, k := range []string{"f1", "f2"} {
			b.Bundle.Flags = append(b.Bundle.Flags, Flag{Key: k, Type: TypeString, Variants: vs, Enabled: true,
				Rules: rules, Default: Serve{Variant: 0, BucketBy: NoNode}})
		}
		return b.Bundle
	}
	if err := mk().Validate(); err != nil {
		t.Fatalf("valid bundle: %v", err)
	}

	b := mk()
	b.Flags[1].Type = TypeBoolean // same variant slice, now the wrong JSON type
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), `flag "f2": variant "a": value is not a JSON boolean`) {
		t.Fatalf("shared variants under another type: got %v", err)
	}

	b = mk()
	b.Flags[1].Variants = vs[:1] // same rule slice, but variant 1 is out of range here
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), `flag "f2" rule 1: variant 1 out of range`) {
		t.Fatalf("shared rules under fewer variants: got %v", err)
	}
}
