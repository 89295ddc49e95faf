package ir

import (
	"strings"
	"testing"
)

// TestValidateInOfBadConst is the regression test for a panic: the right
// operand of OpIn is an OpConst whose const index is out of range. Validate
// must reject the bundle with that operand's own error, at the flag using
// it, rather than index Consts with it.
func TestValidateInOfBadConst(t *testing.T) {
	b := NewBuilder("p", "e", AudienceServer)
	bad := b.Node(OpConst, 99, 0) // no const 99
	in := b.Node(OpIn, b.AttrNode("country"), bad)
	b.Bundle.Flags = []Flag{{Key: "f", Type: TypeBoolean, Variants: []Variant{{Name: "on", Value: []byte("true")}},
		Rules: []Rule{{ID: "r", When: in, Serve: Serve{Variant: 0, BucketBy: NoNode}}}, Default: Serve{BucketBy: NoNode}}}
	err := b.Bundle.Validate()
	want := `flag "f" rule 1: node 0: const(): const index 99 out of range`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
}
