package eval

import (
	"reflect"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/benchgen"
)

// TestEngineIndependentOfBundle checks that an engine from Load keeps no
// reference to the bundle it was loaded from: overwriting every slice of
// the bundle afterwards changes no result.
func TestEngineIndependentOfBundle(t *testing.T) {
	set, _ := benchgen.RealisticBundle(t, 500, ir.AudienceServer)
	b := benchgen.Compile(t, set.YAML, ir.AudienceServer) // our own copy to overwrite
	e := mustLoad(t, b)
	contexts := []Context{benchgen.Context(3)}
	for _, p := range set.Probes[:50] {
		contexts = append(contexts, p.Context)
	}
	var want [][]Result
	for _, c := range contexts {
		want = append(want, e.EvaluateAll(c, testNow, nil))
	}
	scribble(b)
	for i, c := range contexts {
		if got := e.EvaluateAll(c, testNow, nil); !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("context %d: results changed after the bundle was overwritten", i)
		}
	}
}
