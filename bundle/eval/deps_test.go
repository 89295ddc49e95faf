package eval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The purity fence (in the spirit of Go's go/build/deps_test.go): the
// engine and the IR are pure computation that must build for wasip1 and
// TinyGo, so their non-test files may import only this allow-list, never
// read the clock, touch the OS or log, and hold no package state except
// error sentinels and `var _ T = v` assertions.
var allowedImports = map[string]bool{
	"bytes": true, "crypto/sha256": true, "errors": true, "math": true, "math/bits": true,
	"regexp": true, "slices": true, "sort": true, "strconv": true, "strings": true, "time": true,
	"unicode": true, "unicode/utf16": true, "unicode/utf8": true, "encoding/binary": true,
	"github.com/edgeflag/edgeflag/bundle/ir": true,
}

// forbiddenSelectors are calls that read ambient state.
var forbiddenSelectors = []string{"time.Now", "time.Since", "time.Until", "os.", "log.", "rand.", "fmt.Print"}

func TestPurityFence(t *testing.T) {
	for _, dir := range []string{".", "../ir"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("glob %s: %v", dir, err)
		}
		checked := 0
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			checked++
			checkPure(t, path)
		}
		if checked == 0 {
			t.Fatalf("%s: no non-test files checked", dir)
		}
	}
}

func checkPure(t *testing.T, path string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !allowedImports[p] {
			t.Errorf("%s: import %q is outside the allow-list", fset.Position(imp.Pos()), p)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok {
			name := x.Name + "." + sel.Sel.Name
			for _, bad := range forbiddenSelectors {
				if name == bad || (strings.HasSuffix(bad, ".") && strings.HasPrefix(name, bad)) {
					t.Errorf("%s: %s is forbidden in pure code", fset.Position(sel.Pos()), name)
				}
			}
		}
		return true
	})
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name == "_" {
					continue
				}
				if i < len(vs.Values) && isErrorsNew(vs.Values[i]) {
					continue
				}
				t.Errorf("%s: package-level var %s (only error sentinels and `var _ T = v` are allowed)", fset.Position(name.Pos()), name.Name)
			}
		}
	}
}

func isErrorsNew(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "errors" && sel.Sel.Name == "New"
}

// TestBuildWasip1 checks that the engine (and the IR) compile for
// GOOS=wasip1 GOARCH=wasm, the target of the wasm guest.
func TestBuildWasip1(t *testing.T) {
	// The go command of the toolchain running this test.
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built

	cmd := exec.Command(goBin, "build", "-o", os.DevNull, ".", "../ir")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOOS=wasip1 GOARCH=wasm go build: %v\n%s", err, out)
	}
}
