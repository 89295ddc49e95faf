package client_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const repoRoot = "../.."

func readDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "offline.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// exampleRegion returns the lines between "// docs: begin NAME" and
// "// docs: end NAME" in a Go file, without their common indentation.
func exampleRegion(t *testing.T, file, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	begin, end := "// docs: begin "+name+"\n", "// docs: end "+name+"\n"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no region %q", file, name)
	}
	lines := strings.Split(strings.TrimRight(s[i+len(begin):j], "\t\n"), "\n")
	indent := ""
	if len(lines) > 0 {
		indent = lines[0][:len(lines[0])-len(strings.TrimLeft(lines[0], "\t"))]
	}
	for k, l := range lines {
		lines[k] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, "\n")
}

// TestDocExamples: every Go block of docs/offline.md marked as an example
// is, character for character, a region of a Go example that `go test`
// runs (and checks the output of); and the three examples are all there.
func TestDocExamples(t *testing.T) {
	doc := readDoc(t)
	re := regexp.MustCompile("(?s)<!-- example: (\\S+) (\\S+) -->\n```go\n(.*?)\n```")
	want := map[string]bool{
		"edgefn/client/example_test.go quick-start":            false,
		"edgefn/client/mobile/example_test.go mobile":          false,
		"edgefn/client/ofprovider/example_test.go openfeature": false,
	}
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		key := m[1] + " " + m[2]
		if _, ok := want[key]; !ok {
			t.Errorf("docs/offline.md quotes an unknown example %s", key)
			continue
		}
		want[key] = true
		if got := exampleRegion(t, m[1], m[2]); got != m[3] {
			t.Errorf("docs/offline.md differs from %s (region %s):\n--- doc\n%s\n--- example\n%s", m[1], m[2], m[3], got)
		}
	}
	for key, found := range want {
		if !found {
			t.Errorf("docs/offline.md does not quote %s", key)
		}
	}
}

// TestDocNamesEveryReason: every failure reason, serving mode and breaker
// state the client reports is explained in docs/offline.md.
func TestDocNamesEveryReason(t *testing.T) {
	doc := readDoc(t)
	fset := token.NewFileSet()
	n := 0
	for _, file := range []string{"fetch.go", "client.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			vs, ok := node.(*ast.ValueSpec)
			if !ok || len(vs.Values) != 1 {
				return true
			}
			name := vs.Names[0].Name
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || !(strings.HasPrefix(name, "Reason") || strings.HasPrefix(name, "Serving") || strings.HasPrefix(name, "Breaker")) {
				return true
			}
			v, _ := strconv.Unquote(lit.Value)
			n++
			if !strings.Contains(doc, "`"+v+"`") {
				t.Errorf("docs/offline.md does not name %s (%q)", name, v)
			}
			return true
		})
	}
	if n < 15 {
		t.Fatalf("found only %d constants: the parse is wrong", n)
	}
}
