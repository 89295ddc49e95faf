package compile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// synthetic returns a config file with n flags of three rules and a split
// each, the shape of the F2 benchmark flag (docs/performance.md).
func synthetic(n int) []config.File {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [prod]\ncontext: {plan: string, country: string, age: number}\nsegments:\n  staff: {when: 'plan == \"staff\"'}\nflags:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  flag-%05d:\n    type: boolean\n    clientSide: %t\n    environments:\n      prod:\n        rules:\n"+
			"          - {name: staff, when: 'inSegment(\"staff\")', serve: on}\n"+
			"          - {name: pro, when: 'plan == \"pro\" && country in [\"US\", \"CA\"]', serve: on}\n"+
			"          - {name: adult, when: 'age >= %d', serve: off}\n"+
			"        default: {split: {on: 50, off: 50}}\n", i, i%2 == 0, 18+i%10)
	}
	return []config.File{{Name: "flags.yaml", Data: []byte(sb.String())}}
}

// BenchmarkBuild1000 measures compiling 1000 F2-like flags (parse excluded).
func BenchmarkBuild1000(b *testing.B) {
	doc, ds := config.Parse(synthetic(1000))
	if ds.HasErrors() {
		b.Fatal(ds.Error())
	}
	for b.Loop() {
		if _, ds := Build(doc, "prod", ir.AudienceServer); ds.HasErrors() {
			b.Fatal(ds.Error())
		}
	}
}

// BenchmarkParseLint1000 measures loading and linting the same config.
func BenchmarkParseLint1000(b *testing.B) {
	files := synthetic(1000)
	for b.Loop() {
		doc, ds := config.Parse(files)
		if ds.HasErrors() {
			b.Fatal(ds.Error())
		}
		if ds := Lint(doc, LintOptions{}); ds.HasErrors() {
			b.Fatal(ds.Error())
		}
	}
}
