package host

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// docBlock returns the fenced code block that follows marker in doc.
func docBlock(t *testing.T, doc []byte, marker string) []byte {
	t.Helper()
	re := regexp.MustCompile(`(?s)<!-- ` + regexp.QuoteMeta(marker) + ` -->\n` + "```" + `[a-z]*\n(.*?)` + "```")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/wasm-abi.md: no code block after <!-- %s -->", marker)
	}
	return m[1]
}

// TestABIDocExample runs the worked example of docs/wasm-abi.md — a whole
// JavaScript host of the ABI, WASI shim included — with Node on each
// shipped module and a sealed corpus bundle, and requires exactly the
// output the document shows.
func TestABIDocExample(t *testing.T) {
	forEachModule(t, testABIDocExample)
}

func testABIDocExample(t *testing.T, m wasmbuild.Spec) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to run the ABI example (the machine and CI have Node.js 20)")
	}
	root, err := wasmbuild.Root()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "wasm-abi.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle, _ := corpusBundle(t)
	jwks, _ := testJWKS()
	files := map[string][]byte{"example.mjs": docBlock(t, doc, "example: example.mjs"), "edgeflag.wasm": module(t, m),
		"bundle.jws": bundle, "jwks.json": jwks}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, "example.mjs", "edgeflag.wasm", "bundle.jws", "jwks.json", "2026-06-01T00:00:00.250Z")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node example.mjs: %v\n%s", err, stderr.Bytes())
	}
	if want := docBlock(t, doc, "output: example.mjs"); !bytes.Equal(out, want) {
		t.Fatalf("node example.mjs printed\n%s\nthe document shows\n%s", out, want)
	}
}
