// Package fence checks the purity fence of edgeflag's portable packages
// (in the spirit of Go's go/build/deps_test.go): the engine, the IR and the
// verifier are pure computation that must build for wasip1 and TinyGo, so
// their non-test files may import only an allow-list, never read the
// clock, touch the OS or log, and hold no package state except error
// sentinels and `var _ T = v` assertions. Each fenced package calls Check
// from its deps_test.go with its own allow-list.
package fence

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

// forbiddenSelectors are calls that read ambient state.
var forbiddenSelectors = []string{"time.Now", "time.Since", "time.Until", "os.", "log.", "rand.", "fmt.Print"}

// Check parses every non-test .go file of dir and reports, as test errors,
// imports outside allowed, calls that read ambient state and package-level
// variables. It returns the imports of each file (base name → import
// paths) for callers with per-file rules.
func Check(t *testing.T, dir string, allowed map[string]bool) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("glob %s: %v", dir, err)
	}
	imports := map[string][]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		imports[filepath.Base(path)] = checkFile(t, path, allowed)
	}
	if len(imports) == 0 {
		t.Fatalf("%s: no non-test files checked", dir)
	}
	return imports
}

func checkFile(t *testing.T, path string, allowed map[string]bool) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var paths []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		paths = append(paths, p)
		if !allowed[p] {
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
	return paths
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

// BuildWasip1 builds the packages for GOOS=wasip1 GOARCH=wasm, the target
// of the wasm guest, with the given build tags (may be empty), and fails
// the test if that does not compile.
func BuildWasip1(t *testing.T, tags string, pkgs ...string) {
	t.Helper()
	// The go command of the toolchain running this test.
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
	args := []string{"build", "-o", os.DevNull}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(goBin, append(args, pkgs...)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOOS=wasip1 GOARCH=wasm go build %s: %v\n%s", strings.Join(args[3:], " "), err, out)
	}
}
