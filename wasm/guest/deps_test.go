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
// the engine, the IR and their JSON scanner; of the standard library, a small TinyGo-clean
// subset (no fmt, no reflection-based encoding, no goroutine machinery).
var allowedImports = map[string]bool{
	"github.com/edgeflag/edgeflag/bundle/envelope":   true,
	"github.com/edgeflag/edgeflag/bundle/eval":       true,
	"github.com/edgeflag/edgeflag/bundle/ir":         true,
	"github.com/edgeflag/edgeflag/internal/jsonscan": true,
	"math": true, "runtime": true, "sort": true, "strconv": true, "time": true, "unicode/utf8": true, "unsafe": true,
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

// TestGuestDependencies: what the module links, for both standard-Go
// builds, holds neither encoding/json nor a JOSE library (the verifier is
// the one in bundle/envelope); the EdDSA-only build (the tags of the Go
// and the TinyGo module) leaves crypto/ecdsa out, and with it the standard
// library's FIPS 140 module and klauspost's decoder (edgeflag_small), while
// the ES256 build links them.
func TestGuestDependencies(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
	small := []string{"github.com/edgeflag/edgeflag/bundle/internal/zstd", "github.com/edgeflag/edgeflag/bundle/internal/ed25519",
		"github.com/edgeflag/edgeflag/bundle/internal/sha2"}
	std := []string{"github.com/klauspost/compress/zstd", "crypto/ed25519", "crypto/sha256", "crypto/internal/fips140/aes"}
	for _, tags := range []string{"edgeflag_noes256,edgeflag_small", ""} {
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
		shipped := tags != ""
		if got := has["crypto/ecdsa"]; got == shipped {
			t.Errorf("-tags=%q: links crypto/ecdsa = %v", tags, got)
		}
		for _, p := range small {
			if has[p] != shipped {
				t.Errorf("-tags=%q: links %s = %v", tags, p, has[p])
			}
		}
		for _, p := range std {
			if has[p] == shipped {
				t.Errorf("-tags=%q: links %s = %v", tags, p, has[p])
			}
		}
		if !has["github.com/edgeflag/edgeflag/bundle/envelope"] {
			t.Errorf("-tags=%q: the verifier is not linked", tags)
		}
	}
}
