package wasmbuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakefileBuildsTheSameWay: `make wasm` and `make wasm-tiny` run the
// commands Build and BuildTiny run, for every file in Outputs.
func TestMakefileBuildsTheSameWay(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Flags, " "); got != "-buildmode=c-shared -trimpath -ldflags=-s -w" {
		t.Fatalf("Flags = %q", got)
	}
	if got := strings.Join(TinyFlags, " "); got != "-buildmode=c-shared" {
		t.Fatalf("TinyFlags = %q", got)
	}
	for _, want := range []string{
		"WASM_BUILD := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w'",
		`TINYGO_BUILD := .ci/tinygo.sh sh -c '"$$TINYGO" build $$TINYGO_FLAGS -buildmode=c-shared "$$@"' tinygo`,
	} {
		if !bytes.Contains(mk, []byte(want+"\n")) {
			t.Errorf("Makefile has no line %q", want)
		}
	}
	for file, s := range Outputs {
		line := "\t$(WASM_BUILD) "
		if s.Toolchain == TinyGo {
			line = "\t$(TINYGO_BUILD) "
		}
		if s.Tags != "" {
			line += "-tags=" + s.Tags + " "
		}
		line += "-o wasm/dist/" + file + " " + Package + "\n"
		if !bytes.Contains(mk, []byte(line)) {
			t.Errorf("Makefile does not build %s as %q", file, line)
		}
	}
}

// TestDistIsTheTestBuild: the files `make wasm` wrote are byte for byte
// the modules the tests build (the TinyGo one from a copy of the sources
// elsewhere). It needs those files: make wasm-test runs it after make wasm
// and make wasm-tiny with EDGEFLAG_WASM_DIST set.
func TestDistIsTheTestBuild(t *testing.T) {
	dist := os.Getenv("EDGEFLAG_WASM_DIST")
	if dist == "" {
		t.Skip("EDGEFLAG_WASM_DIST is not set: run make wasm-test")
	}
	for file, s := range Outputs {
		built, err := Module(s)
		if err != nil {
			t.Fatal(err)
		}
		made, err := os.ReadFile(filepath.Join(dist, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(made, built) {
			t.Errorf("%s from make wasm (%d bytes) differs from the test build (%d bytes)", file, len(made), len(built))
		}
	}
}

// TestReproducibleBuild builds the shipped standard-Go module twice — the second time
// from a copy of the sources in another directory, with -a so nothing
// comes from the build cache — and requires the same bytes.
func TestReproducibleBuild(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	for file, s := range Outputs {
		if s != Default {
			continue // one rebuild from scratch is enough (the TinyGo one: TestDistIsTheTestBuild)
		}
		first, err := Module(s)
		if err != nil {
			t.Fatal(err)
		}
		copyDir := t.TempDir()
		for _, p := range []string{"go.mod", "go.sum", "bundle", "internal/jsonscan", "wasm/guest"} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(copyDir, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("cp", "-R", filepath.Join(root, p), filepath.Join(copyDir, p)).CombinedOutput(); err != nil {
				t.Fatalf("copy %s: %v %s", p, err, out)
			}
		}
		out := filepath.Join(t.TempDir(), file)
		if err := Build(copyDir, out, "-a", "-tags="+s.Tags); err != nil {
			t.Fatal(err)
		}
		second, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("%s: two builds differ (%d and %d bytes)", file, len(first), len(second))
		}
		t.Logf("%s: %d bytes, identical across two builds", file, len(first))
	}
}

// TestTinyKeyCoversEverything: the TinyGo cache key changes with any
// source file's content, the file list, the tags, the compiler stamp and
// its flags, so a cached module is never one of other sources.
func TestTinyKeyCoversEverything(t *testing.T) {
	root := t.TempDir()
	for name, data := range map[string]string{"go.mod": "module x\n", "go.sum": "", "a/a.go": "package a\n", "a/b.go": "package a\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := &sources{root: root, files: []string{"a/a.go", "a/b.go", "go.mod", "go.sum"}}
	tc := &Tools{TinyGo: "tinygo", Flags: []string{"-target=x.json", "-opt=z"}, Stamp: "tinygo v1 llvm 19 go1.26\n"}
	base := src.key(tc, DefaultTags)
	if base != src.key(tc, DefaultTags) {
		t.Fatal("the key is not deterministic")
	}
	seen := map[string]string{base: "base"}
	check := func(what, key string) {
		t.Helper()
		if prev, ok := seen[key]; ok {
			t.Errorf("%s gives the key of %s", what, prev)
		}
		seen[key] = what
	}
	check("other tags", src.key(tc, DefaultTags+","+TestTag))
	check("another stamp", src.key(&Tools{TinyGo: tc.TinyGo, Flags: tc.Flags, Stamp: "tinygo v2 llvm 19 go1.26\n"}, DefaultTags))
	check("other flags", src.key(&Tools{TinyGo: tc.TinyGo, Flags: []string{"-target=x.json"}, Stamp: tc.Stamp}, DefaultTags))
	check("a file fewer", (&sources{root: root, files: src.files[1:]}).key(tc, DefaultTags))
	if err := os.WriteFile(filepath.Join(root, "a/b.go"), []byte("package a // changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a changed file", src.key(tc, DefaultTags))
}

// TestTinySourcesListTheGuest: the files the key covers are the guest's,
// the verifier's (its TinyGo-only files too), the engine's and the IR's,
// without tests.
func TestTinySourcesListTheGuest(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	tc, err := TinyGoTools(root)
	if err != nil {
		t.Fatal(err)
	}
	src, err := tinySources(tc, root, DefaultTags)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, f := range src.files {
		if strings.HasSuffix(f, "_test.go") {
			t.Errorf("the key covers the test file %s", f)
		}
		has[filepath.ToSlash(f)] = true
	}
	for _, want := range []string{"go.mod", "go.sum", "wasm/guest/main.go", "wasm/guest/exports_wasm.go",
		"bundle/envelope/zstd.go", "bundle/envelope/es256.go", "bundle/eval/eval.go", "bundle/ir/codec.go"} {
		if !has[want] {
			t.Errorf("the key does not cover %s (covers %d files)", want, len(src.files))
		}
	}
}
