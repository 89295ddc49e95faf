package wasmbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// tinyCacheVersion changes when what a cache entry holds changes.
const tinyCacheVersion = "edgeflag-tinygo-cache 1"

// tinyCacheDir is where TinyGo modules are kept: $EDGEFLAG_WASM_CACHE, or
// edgeflag-wasm in the user's cache directory.
func tinyCacheDir() (string, error) {
	if d := os.Getenv("EDGEFLAG_WASM_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the wasm cache: %w", err)
	}
	return filepath.Join(d, "edgeflag-wasm"), nil
}

// tinyModule returns the TinyGo build of the guest with tags. A miss in
// the cache builds it from a copy of its sources in a temporary
// directory, so a cached module also shows that the build does not depend
// on where the sources are (TestDistIsTheTestBuild compares it with what
// make wasm-tiny built in the repository).
func tinyModule(root, tags string) ([]byte, error) {
	tc, err := TinyGoTools(root)
	if err != nil {
		return nil, err
	}
	src, err := tinySources(tc, root, tags)
	if err != nil {
		return nil, err
	}
	key := src.key(tc, tags)
	dir, err := tinyCacheDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, key+".wasm")
	if b, err := os.ReadFile(path); err == nil {
		now := time.Now()
		os.Chtimes(path, now, now) // recently used: kept by prune
		return b, nil
	}
	work, err := os.MkdirTemp("", "edgeflag-tinygo-")
	if err != nil {
		return nil, fmt.Errorf("build guest with tinygo: %w", err)
	}
	defer os.RemoveAll(work)
	if err := src.copyTo(work); err != nil {
		return nil, err
	}
	out := filepath.Join(work, "edgeflag.tiny.wasm")
	if err := BuildTiny(tc, work, out, tags); err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build guest with tinygo: %w", err)
	}
	if err := store(dir, path, wasm); err != nil {
		return nil, err
	}
	prune(dir, 30*24*time.Hour)
	return wasm, nil
}

// store writes wasm to path through a temporary file and a rename, so a
// killed test never leaves half a module in the cache.
func store(dir, path string, wasm []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store tinygo module: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("store tinygo module: %w", err)
	}
	_, werr := f.Write(wasm)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("store tinygo module: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("store tinygo module: %w", err)
	}
	return nil
}

// prune removes modules not used for maxAge (and temporary files a killed
// run left), so the cache does not grow with every source change.
func prune(dir string, maxAge time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > maxAge {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// sources are the files of the repository a TinyGo build of the guest
// reads: go.mod, go.sum and every file (tests and testdata aside) of each
// in-repository package in the build, as tinygo list -deps reports them
// for this target and tags. Everything else it reads — the standard
// library, TinyGo's runtime, the target file, module dependencies fixed by
// go.sum — is named by the compiler's stamp and the Go version.
type sources struct {
	root  string
	files []string // relative to root, sorted
}

func tinySources(tc *Tools, root, tags string) (*sources, error) {
	args := append([]string{"list"}, tc.Flags...)
	args = append(args, "-tags="+tags, "-deps", "-json", Package)
	cmd := exec.Command(tc.TinyGo, args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list guest packages with tinygo: %v\n%s", err, stderr.Bytes())
	}
	src := &sources{root: root, files: []string{"go.mod", "go.sum"}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ Dir string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("list guest packages with tinygo: %w", err)
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue // outside the repository
		}
		entries, err := os.ReadDir(p.Dir)
		if err != nil {
			return nil, fmt.Errorf("list guest packages with tinygo: %w", err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), "_test.go") {
				src.files = append(src.files, filepath.Join(rel, e.Name()))
			}
		}
	}
	if len(src.files) < 8 {
		return nil, fmt.Errorf("list guest packages with tinygo: only %d files in the repository", len(src.files))
	}
	sort.Strings(src.files)
	return src, nil
}

// key is the cache key: the cache version, the compiler, every flag and
// every source file's name and content.
func (s *sources) key(tc *Tools, tags string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n%q\n%q\n", tinyCacheVersion, tc.Stamp, tc.Flags, TinyFlags, tags)
	for _, f := range s.files {
		b, err := os.ReadFile(filepath.Join(s.root, f))
		if err != nil {
			// Unreadable: a key no build matches, so the build reports it.
			fmt.Fprintf(h, "%s unreadable %v\n", f, err)
			continue
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyTo copies the source files into dir.
func (s *sources) copyTo(dir string) error {
	for _, f := range s.files {
		b, err := os.ReadFile(filepath.Join(s.root, f))
		if err != nil {
			return fmt.Errorf("copy guest sources: %w", err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("copy guest sources: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("copy guest sources: %w", err)
		}
	}
	return nil
}
