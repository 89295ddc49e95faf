// Package wasmbuild builds the wasm guest for tests and benchmarks with the
// same commands as `make wasm` and `make wasm-tiny`
// (TestMakefileBuildsTheSameWay keeps them in step), so that `go test ./...`
// needs no prior make.
//
// Standard-Go builds lean on the go build cache. TinyGo optimises the whole
// program on every build (~20 s), so its modules are kept in a cache of
// their own (tinyCache), keyed by everything the build reads; a test binary
// that needs one builds it at most once, and a later `go test` with the same
// sources builds nothing.
package wasmbuild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Package is the guest's import path.
const Package = "./wasm/guest"

// The guest's build tags.
const (
	// DefaultTags build the shipped modules: EdDSA only (ES256 bundles
	// are refused with ErrAlgorithm), with edgeflag's small zstd decoder,
	// SHA-2 and Ed25519 (what TinyGo's tag tinygo selects anyway), within
	// the size budget.
	DefaultTags = "edgeflag_noes256,edgeflag_small"
	// ES256Tags build wasm/dist/edgeflag-es256.wasm: EdDSA and ES256.
	ES256Tags = ""
	// TestTag adds the test-only exports (ef_test_trap, ef_test_memstats).
	TestTag = "eftest"
)

// Toolchain is the compiler a module is built with.
type Toolchain string

// The two toolchains.
const (
	Go     Toolchain = "go"     // the standard Go toolchain, GOOS=wasip1 GOARCH=wasm
	TinyGo Toolchain = "tinygo" // TinyGo through .ci/tinygo.sh
)

// Spec is one build of the guest: a toolchain and a -tags value.
type Spec struct {
	Toolchain Toolchain
	Tags      string
}

// The modules make writes to wasm/dist.
var (
	// Default is wasm/dist/edgeflag.wasm (standard Go, EdDSA only).
	Default = Spec{Go, DefaultTags}
	// ES256 is wasm/dist/edgeflag-es256.wasm (standard Go, EdDSA and ES256).
	ES256 = Spec{Go, ES256Tags}
	// Tiny is wasm/dist/edgeflag.tiny.wasm (TinyGo, EdDSA only).
	Tiny = Spec{TinyGo, DefaultTags}
)

// WithTest is s with the test-only exports.
func (s Spec) WithTest() Spec {
	if s.Tags == "" {
		s.Tags = TestTag
	} else {
		s.Tags += "," + TestTag
	}
	return s
}

// String names the build, e.g. "tinygo -tags=edgeflag_noes256,edgeflag_small".
func (s Spec) String() string { return string(s.Toolchain) + " -tags=" + s.Tags }

// Outputs maps each file of wasm/dist to its build.
var Outputs = map[string]Spec{"edgeflag.wasm": Default, "edgeflag-es256.wasm": ES256, "edgeflag.tiny.wasm": Tiny}

// Flags are the go build flags of `make wasm` (after GOOS=wasip1
// GOARCH=wasm go build).
var Flags = []string{"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"}

// TinyFlags are the tinygo build flags of `make wasm-tiny`, after the
// $TINYGO_FLAGS of .ci/tinygo.sh (target file, -scheduler=none,
// -panic=trap, -no-debug).
var TinyFlags = []string{"-buildmode=c-shared"}

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

// Build builds the guest in the module rooted at root with the standard Go
// toolchain and extra go build flags (e.g. -tags=eftest, -a) into out.
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

// BuildTiny builds the guest in the module rooted at root with TinyGo
// (tc from Tools) and the -tags value tags into out, as make wasm-tiny does.
func BuildTiny(tc *Tools, root, out, tags string) error {
	args := append([]string{"build"}, tc.Flags...)
	args = append(args, TinyFlags...)
	args = append(args, "-tags="+tags, "-o", out, Package)
	cmd := exec.Command(tc.TinyGo, args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build guest with tinygo: %v\n%s", err, b)
	}
	return nil
}

var cache sync.Map // Spec → *built

type built struct {
	once sync.Once
	wasm []byte
	err  error
}

// Module returns the guest's bytes built as s, building once per process
// (and, for TinyGo, once per set of sources: see tinyCache).
func Module(s Spec) ([]byte, error) {
	v, _ := cache.LoadOrStore(s, &built{})
	b := v.(*built)
	b.once.Do(func() {
		root, err := Root()
		if err != nil {
			b.err = err
			return
		}
		switch s.Toolchain {
		case Go:
			b.wasm, b.err = goModule(root, s.Tags)
		case TinyGo:
			b.wasm, b.err = tinyModule(root, s.Tags)
		default:
			b.err = fmt.Errorf("build guest: unknown toolchain %q", s.Toolchain)
		}
	})
	return b.wasm, b.err
}

func goModule(root, tags string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "edgeflag-wasm-")
	if err != nil {
		return nil, fmt.Errorf("build guest: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "edgeflag.wasm")
	var extra []string
	if tags != "" {
		extra = []string{"-tags=" + tags}
	}
	if err := Build(root, out, extra...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// Tools is the TinyGo installation .ci/tinygo.sh provides.
type Tools struct {
	TinyGo string   // the tinygo binary
	Flags  []string // $TINYGO_FLAGS
	Stamp  string   // what the compiler was built from (its cache stamp) and the target file
}

var (
	toolsOnce sync.Once
	tools     *Tools
	toolsErr  error
)

// TinyGoTools returns the TinyGo of .ci/tinygo.sh in the repository at
// root, installing it first when it is missing (the script needs root for
// apt-get only when a Debian package is missing).
func TinyGoTools(root string) (*Tools, error) {
	toolsOnce.Do(func() {
		cmd := exec.Command(filepath.Join(root, ".ci", "tinygo.sh"), "sh", "-c",
			`printf '%s\n%s\n' "$TINYGO" "$TINYGO_FLAGS"; cat "$(dirname "$(dirname "$TINYGO")")/.edgeflag-stamp" "$TINYGO_TARGET"`)
		cmd.Dir = root
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			toolsErr = fmt.Errorf("install tinygo (.ci/tinygo.sh): %v\n%s", err, stderr.String())
			return
		}
		lines := strings.SplitN(string(out), "\n", 3)
		if len(lines) < 3 || lines[0] == "" {
			toolsErr = fmt.Errorf("install tinygo (.ci/tinygo.sh): unexpected output %q", out)
			return
		}
		tools = &Tools{TinyGo: lines[0], Flags: strings.Fields(lines[1]), Stamp: lines[2]}
	})
	return tools, toolsErr
}
