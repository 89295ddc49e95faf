package wasmbuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakefileBuildsTheSameWay: `make wasm` runs the command Build runs,
// for every file in Outputs.
func TestMakefileBuildsTheSameWay(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	want := "WASM_BUILD := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w'"
	if got := strings.Join(Flags, " "); got != "-buildmode=c-shared -trimpath -ldflags=-s -w" {
		t.Fatalf("Flags = %q", got)
	}
	if !bytes.Contains(mk, []byte(want+"\n")) {
		t.Errorf("Makefile has no line %q", want)
	}
	for file, tags := range Outputs {
		line := "\t$(WASM_BUILD) "
		if tags != "" {
			line += "-tags=" + tags + " "
		}
		line += "-o wasm/dist/" + file + " " + Package + "\n"
		if !bytes.Contains(mk, []byte(line)) {
			t.Errorf("Makefile does not build %s as %q", file, line)
		}
	}
}

// TestDistIsTheTestBuild: the files `make wasm` wrote are byte for byte
// the modules the tests build. It needs those files: make wasm-test runs it
// after make wasm with EDGEFLAG_WASM_DIST set.
func TestDistIsTheTestBuild(t *testing.T) {
	dist := os.Getenv("EDGEFLAG_WASM_DIST")
	if dist == "" {
		t.Skip("EDGEFLAG_WASM_DIST is not set: run make wasm-test")
	}
	for file, tags := range Outputs {
		built, err := Module(tags)
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

// TestReproducibleBuild builds the shipped module twice — the second time
// from a copy of the sources in another directory, with -a so nothing
// comes from the build cache — and requires the same bytes.
func TestReproducibleBuild(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	for file, tags := range Outputs {
		if tags != DefaultTags {
			continue // one rebuild from scratch is enough (they share the toolchain)
		}
		first, err := Module(tags)
		if err != nil {
			t.Fatal(err)
		}
		copyDir := t.TempDir()
		for _, p := range []string{"go.mod", "go.sum", "bundle", "wasm/guest"} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(copyDir, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("cp", "-R", filepath.Join(root, p), filepath.Join(copyDir, p)).CombinedOutput(); err != nil {
				t.Fatalf("copy %s: %v %s", p, err, out)
			}
		}
		out := filepath.Join(t.TempDir(), file)
		if err := Build(copyDir, out, "-a", "-tags="+tags); err != nil {
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
