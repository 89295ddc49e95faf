package compile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// FuzzBuild feeds arbitrary config files through Parse, Lint and Build: no
// input may panic, and every bundle Build returns without errors must pass
// the IR validator and encode.
func FuzzBuild(f *testing.F) {
	for _, name := range []string{"project.yaml", "segments.yaml", "checkout.yaml", "growth.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "shop", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(lintBase), data)
	}
	f.Add([]byte(lintBase), []byte("flags:\n  a:\n    type: boolean\n    clientSide: true\n    environments: {prod: {rules: [{when: 'variant(\"a\") == \"on\"', serve: on}]}}\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		doc, ds := config.Parse([]config.File{{Name: "a.yaml", Data: a}, {Name: "b.yaml", Data: b}})
		Lint(doc, LintOptions{Now: lintNow})
		if ds.HasErrors() {
			return
		}
		for _, env := range doc.Environments {
			for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
				bundle, bds := Build(doc, env.Name, aud)
				if bds.HasErrors() {
					if bundle != nil {
						t.Fatalf("bundle returned with errors")
					}
					continue
				}
				if err := bundle.Validate(); err != nil {
					t.Fatalf("%s/%s: invalid bundle: %v", env.Name, aud, err)
				}
				if _, err := ir.Encode(bundle); err != nil {
					t.Fatalf("%s/%s: encode: %v", env.Name, aud, err)
				}
			}
		}
	})
}
