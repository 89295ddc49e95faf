package expr

import (
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// BenchmarkCompile measures compiling a typical rule condition into a
// fresh builder (parse, check, lower).
func BenchmarkCompile(b *testing.B) {
	src := `plan == "pro" && country in ["US", "CA"] && email.endsWith("@example.com") && semver(appVersion) >= semver("2.3.0")`
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		bl := ir.NewBuilder("p", "e", ir.AudienceServer)
		if _, errs := Compile(src, env, bl); errs != nil {
			b.Fatal(errs)
		}
	}
}
