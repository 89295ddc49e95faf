// Package wasmbuild builds the wasm guest for tests and benchmarks with the
// same command as `make wasm` (TestMakefileBuildsTheSameWay keeps the two
// in step), so that `go test ./...` needs no prior `make wasm`.
package wasmbuild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// Package is the guest's import path.
const Package = "./wasm/guest"

// The two modules `make wasm` writes, by their -tags values.
const (
	// DefaultTags build wasm/dist/edgeflag.wasm: EdDSA only (ES256
	// bundles are refused with ErrAlgorithm), within the size budget.
	DefaultTags = "edgeflag_noes256"
	// ES256Tags build wasm/dist/edgeflag-es256.wasm: EdDSA and ES256.
	ES256Tags = ""
	// TestTag adds the test-only exports (ef_test_trap, ef_test_memstats).
	TestTag = "eftest"
)

// Outputs maps each file of wasm/dist to its -tags value.
var Outputs = map[string]string{"edgeflag.wasm": DefaultTags, "edgeflag-es256.wasm": ES256Tags}

// Flags are the go build flags of `make wasm` (after GOOS=wasip1
// GOARCH=wasm go build).
var Flags = []string{"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"}

// Root returns the repository root: the nearest directory above the
// working directory holding go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Build builds the guest in the module rooted at root with extra go build
// flags (e.g. -tags=eftest, -a) into out.
func Build(root, out string, extra ...string) error {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 tests run where they were built
	args := append([]string{"build"}, Flags...)
	args = append(args, extra...)
	args = append(args, "-o", out, Package)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build guest: %v\n%s", err, b)
	}
	return nil
}

var cache sync.Map // tags → *built

type built struct {
	once sync.Once
	wasm []byte
	err  error
}

// Module returns the guest's bytes built with the given -tags value
// (DefaultTags, ES256Tags, or either with ","+TestTag), building once per
// process.
func Module(tags string) ([]byte, error) {
	v, _ := cache.LoadOrStore(tags, &built{})
	b := v.(*built)
	b.once.Do(func() {
		root, err := Root()
		if err != nil {
			b.err = err
			return
		}
		dir, err := os.MkdirTemp("", "edgeflag-wasm-")
		if err != nil {
			b.err = fmt.Errorf("build guest: %w", err)
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "edgeflag.wasm")
		var extra []string
		if tags != "" {
			extra = []string{"-tags=" + tags}
		}
		if b.err = Build(root, out, extra...); b.err != nil {
			return
		}
		b.wasm, b.err = os.ReadFile(out)
	})
	return b.wasm, b.err
}
