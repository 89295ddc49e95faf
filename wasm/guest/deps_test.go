package main

import (
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

// allowedImports is the guest's fence: of edgeflag, only the verifier,
// the engine and the IR; of the standard library, a small TinyGo-clean
// subset (no fmt, no reflection-based encoding, no goroutine machinery).
var allowedImports = map[string]bool{
	"github.com/edgeflag/edgeflag/bundle/envelope": true,
	"github.com/edgeflag/edgeflag/bundle/eval":     true,
	"github.com/edgeflag/edgeflag/bundle/ir":       true,
	"math":                                         true, "runtime": true, "sort": true, "strconv": true, "time": true, "unicode/utf8": true, "unsafe": true,
}

func TestGuestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowedImports[p] {
				t.Errorf("%s imports %q, outside the guest's allow-list", path, p)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d files", checked)
	}
}

// TestGuestDependencies: what the module links, for both builds, holds
// neither encoding/json nor a JOSE library (the verifier is the one in
// bundle/envelope), and the EdDSA-only build leaves crypto/ecdsa out.
func TestGuestDependencies(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
	for _, tags := range []string{"edgeflag_noes256", ""} {
		cmd := exec.Command(goBin, "list", "-deps", "-tags="+tags, ".")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps -tags=%q: %v", tags, err)
		}
		deps := strings.Fields(string(out))
		has := map[string]bool{}
		for _, d := range deps {
			has[d] = true
		}
		for _, bad := range []string{"encoding/json", "github.com/go-jose/go-jose/v4"} {
			if has[bad] {
				t.Errorf("-tags=%q: the module links %s", tags, bad)
			}
		}
		if got := has["crypto/ecdsa"]; got != (tags == "") {
			t.Errorf("-tags=%q: links crypto/ecdsa = %v", tags, got)
		}
		if !has["github.com/edgeflag/edgeflag/bundle/envelope"] || !has["crypto/ed25519"] {
			t.Errorf("-tags=%q: the verifier is not linked", tags)
		}
	}
}
