package mobile

// gomobile cannot run here (it needs the Android NDK or Xcode), so this
// test applies its documented type rules to the package's exported API
// with go/types. The rules, from gobind's documentation ("Type
// restrictions", golang.org/x/mobile/cmd/gobind): every exported symbol
// of a bound package must have a supported type —
//
//   - signed integer and floating point types;
//   - string and boolean types;
//   - byte slice types;
//   - any function type all of whose parameters and results have supported
//     types; functions return no result, one result, or two results where
//     the second is the built-in error type;
//   - any interface type all of whose exported methods have supported
//     function types;
//   - any struct type all of whose exported methods have supported
//     function types and all of whose exported fields have supported types.
//
// gobind skips (rather than binds) unsigned integers, named basic types
// and type aliases, and structs are passed as pointers to a struct type of
// the bound package; the checker is that strict too. It also refuses maps,
// channels, other slices, arrays, generics and types of other packages
// (gomobile binds those only when their package is bound as well).

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// checkGomobile returns a description of every exported name of pkg whose
// type gomobile bind does not support.
func checkGomobile(pkg *types.Package) []string {
	ch := &gomobileChecker{pkg: pkg}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Func:
			ch.signature(o.Type().(*types.Signature), "func "+name)
		case *types.Var:
			ch.value(o.Type(), "var "+name)
		case *types.Const:
			ch.value(o.Type(), "const "+name)
		case *types.TypeName:
			ch.typeDecl(o)
		}
	}
	sort.Strings(ch.problems)
	return ch.problems
}

type gomobileChecker struct {
	pkg      *types.Package
	problems []string
}

func (c *gomobileChecker) fail(where, format string, args ...any) {
	c.problems = append(c.problems, where+": "+fmt.Sprintf(format, args...))
}

func (c *gomobileChecker) typeDecl(o *types.TypeName) {
	where := "type " + o.Name()
	if o.IsAlias() {
		c.fail(where, "a type alias")
		return
	}
	named := o.Type().(*types.Named)
	if named.TypeParams().Len() > 0 {
		c.fail(where, "a generic type")
		return
	}
	switch u := named.Underlying().(type) {
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if f := u.Field(i); f.Exported() {
				if f.Embedded() {
					c.fail(where+"."+f.Name(), "an embedded field")
					continue
				}
				c.value(f.Type(), where+"."+f.Name())
			}
		}
		ms := types.NewMethodSet(types.NewPointer(named))
		for i := 0; i < ms.Len(); i++ {
			if m := ms.At(i).Obj(); m.Exported() {
				c.signature(m.Type().(*types.Signature), where+"."+m.Name())
			}
		}
	case *types.Interface:
		for i := 0; i < u.NumMethods(); i++ {
			if m := u.Method(i); m.Exported() {
				c.signature(m.Type().(*types.Signature), where+"."+m.Name())
			}
		}
	default:
		c.fail(where, "a named %T type (gobind binds structs and interfaces)", u)
	}
}

// signature checks a function or method type.
func (c *gomobileChecker) signature(s *types.Signature, where string) {
	if s.TypeParams().Len() > 0 {
		c.fail(where, "a generic function")
		return
	}
	if s.Variadic() {
		c.fail(where, "variadic")
	}
	for i := 0; i < s.Params().Len(); i++ {
		c.value(s.Params().At(i).Type(), fmt.Sprintf("%s parameter %d", where, i+1))
	}
	res := s.Results()
	switch {
	case res.Len() > 2:
		c.fail(where, "%d results", res.Len())
	case res.Len() == 2 && !isError(res.At(1).Type()):
		c.fail(where, "two results, the second not error")
	}
	for i := 0; i < res.Len(); i++ {
		if t := res.At(i).Type(); !isError(t) || i == 0 && res.Len() == 2 {
			c.value(t, fmt.Sprintf("%s result %d", where, i+1))
		}
	}
}

func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

// value checks the type of a parameter, result, field, variable or
// constant.
func (c *gomobileChecker) value(t types.Type, where string) {
	switch x := t.(type) {
	case *types.Basic:
		switch x.Kind() {
		case types.Bool, types.Int, types.Int8, types.Int16, types.Int32, types.Int64,
			types.Float32, types.Float64, types.String,
			types.UntypedBool, types.UntypedInt, types.UntypedFloat, types.UntypedString, types.UntypedRune:
			return
		}
		c.fail(where, "basic type %s", x)
	case *types.Slice:
		if b, ok := x.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
			return
		}
		c.fail(where, "slice %s (only []byte)", x)
	case *types.Pointer:
		n, ok := x.Elem().(*types.Named)
		if _, isStruct := x.Elem().Underlying().(*types.Struct); !ok || !isStruct || !c.local(n) {
			c.fail(where, "pointer %s (only to a struct of this package)", x)
		}
	case *types.Named:
		switch {
		case isError(x):
		case !c.local(x):
			c.fail(where, "type %s of another package", x)
		case x.TypeArgs().Len() > 0:
			c.fail(where, "instantiated generic %s", x)
		default:
			switch x.Underlying().(type) {
			case *types.Interface:
			case *types.Struct:
				c.fail(where, "struct %s by value (pass *%s)", x.Obj().Name(), x.Obj().Name())
			default:
				c.fail(where, "named non-struct, non-interface type %s", x)
			}
		}
	case *types.Alias:
		c.fail(where, "type alias %s", x)
	default:
		c.fail(where, "%T %s", t, t)
	}
}

func (c *gomobileChecker) local(n *types.Named) bool { return n.Obj().Pkg() == c.pkg }

// exportLookup finds compiled export data through `go list -export`, so
// that go/types can type-check a package against its real imports.
func exportLookup(t *testing.T, dir string, pkgs ...string) func(string) (io.ReadCloser, error) {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
	cmd := exec.Command(goBin, append([]string{"list", "-export", "-deps", "-json=ImportPath,Export"}, pkgs...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	files := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		files[p.ImportPath] = p.Export
	}
	return func(path string) (io.ReadCloser, error) {
		f, ok := files[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	}
}

// typeCheck parses and type-checks the given files as one package.
func typeCheck(t *testing.T, path string, files map[string]string, lookup func(string) (io.ReadCloser, error)) *types.Package {
	t.Helper()
	fset := token.NewFileSet()
	var asts []*ast.File
	for name, src := range files {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		asts = append(asts, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	pkg, err := conf.Check(path, fset, asts, nil)
	if err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	return pkg
}

// TestGomobileTypes: the exported API of this package is what gomobile
// bind accepts.
func TestGomobileTypes(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			data, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			files[n] = string(data)
		}
	}
	pkg := typeCheck(t, "github.com/edgeflag/edgeflag/edgefn/client/mobile", files, exportLookup(t, ".", "."))
	if n := len(pkg.Scope().Names()); n < 10 {
		t.Fatalf("only %d names in the package scope: not the package", n)
	}
	for _, p := range checkGomobile(pkg) {
		t.Error(p)
	}
}

// TestGomobileCheckerRefuses: the checker names every kind of type
// gomobile does not bind (so TestGomobileTypes can fail).
func TestGomobileCheckerRefuses(t *testing.T) {
	src := `package bad

import "time"

type S struct{ N int }
type I interface{ M() map[string]int }
type Named string
type Alias = S
type G[T any] struct{ V T }
type Fn func()

func Map() map[string]int                { return nil }
func Chan(c chan int)                    {}
func Uint(x uint32)                      {}
func Strings(x []string)                 {}
func Generic[T any](x T)                 {}
func TwoValues() (int, int)              { return 0, 0 }
func ThreeValues() (int, int, error)     { return 0, 0, nil }
func ByValue(s S)                        {}
func Other() time.Duration               { return 0 }
func Variadic(xs ...int)                 {}
func Callback(f func())                  {}
func PtrInt(p *int)                      {}
func Array(a [4]byte)                    {}
func OK(s *S, b []byte, i I) (*S, error) { return nil, nil }

type Holder struct {
	Fine  string
	Times map[string]time.Time
	S
}

func (h *Holder) Get() (string, bool) { return "", false }
`
	pkg := typeCheck(t, "example.com/bad", map[string]string{"bad.go": src}, exportLookup(t, ".", "time"))
	got := strings.Join(checkGomobile(pkg), "\n")
	for _, want := range []string{
		"func Map result 1: *types.Map",
		"func Chan parameter 1: *types.Chan",
		"func Uint parameter 1: basic type uint32",
		"func Strings parameter 1: slice []string",
		"func Generic: a generic function",
		"func TwoValues: two results, the second not error",
		"func ThreeValues: 3 results",
		"func ByValue parameter 1: struct S by value",
		"func Other result 1: type time.Duration of another package",
		"func Variadic: variadic",
		"func Callback parameter 1: *types.Signature",
		"func PtrInt parameter 1: pointer *int",
		"func Array parameter 1: *types.Array",
		"type Alias: a type alias",
		"type G: a generic type",
		"type Named: a named *types.Basic type",
		"type Fn: a named *types.Signature type",
		"type I.M result 1: *types.Map",
		"type Holder.Times: *types.Map",
		"type Holder.S: an embedded field",
		"type Holder.Get: two results, the second not error",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the checker did not report %q; it reported:\n%s", want, got)
		}
	}
	if strings.Contains(got, "func OK") || strings.Contains(got, "Holder.Fine") {
		t.Errorf("the checker refused supported types:\n%s", got)
	}
}
