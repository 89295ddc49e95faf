package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic and that every
// expression position it reports stays inside the file.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"a.yaml", "b.yaml", "c.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "mistakes", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("segments:\n  s:\n    when: |\n      a == 1 &&\n        b\n  t: {when: \"x \\u00e9 \\\n  y\"}\n"))
	f.Add([]byte("a: &x [*x]\nflags: {f: {type: object, variants: {v: *x}, defaultVariant: v}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, ds := Parse([]File{{Name: "f.yaml", Data: data}})
		if doc == nil {
			t.Fatal("nil document")
		}
		for _, d := range ds {
			if d.Pos.File != "f.yaml" {
				t.Fatalf("diagnostic outside the file: %v", d)
			}
		}
		for _, s := range doc.Segments {
			if s.When == nil {
				continue
			}
			for l := 1; l <= 3; l++ {
				if p := s.When.PosAt(l, 2); p.Line < 1 || p.Col < 1 {
					t.Fatalf("bad position %v", p)
				}
			}
		}
	})
}
