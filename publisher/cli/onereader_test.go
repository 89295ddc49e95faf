package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOneVerifier: the CLI reads every bundle through bundle/envelope
// (Open, Verify, Peek, ReadUnverified). A JOSE library or a zstd reader in
// the CLI would be a second header parser or decompressor that can drift
// from the one every runtime uses.
func TestOneVerifier(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"github.com/go-jose/", "github.com/klauspost/compress"}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if strings.HasPrefix(p, bad) {
					t.Errorf("%s imports %s: read bundles with bundle/envelope only", f, p)
				}
			}
		}
	}
}
