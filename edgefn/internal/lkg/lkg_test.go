package lkg

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	for _, content := range []string{"first", "second, longer than the first"} {
		if err := writeFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil || string(data) != content {
			t.Fatalf("read back %q, %v; want %q", data, err, content)
		}
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// TestWriteFileFailureKeepsOld: a write that cannot complete (here: the
// directory is read-only) leaves the previous content in place.
func TestWriteFileFailureKeepsOld(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; make the rename fail instead:
		// the target is a non-empty directory.
		dir := t.TempDir()
		p := filepath.Join(dir, "x.json")
		if err := os.MkdirAll(filepath.Join(p, "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(p, []byte("new"), 0o600); err == nil {
			t.Fatal("rename over a non-empty directory succeeded")
		}
		if _, err := os.Stat(filepath.Join(p, "inner")); err != nil {
			t.Fatalf("the old entry is gone: %v", err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("temporary files left behind: %v", entries)
		}
		return
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	if err := writeFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := writeFile(p, []byte("new"), 0o600); err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	if data, _ := os.ReadFile(p); string(data) != "old" {
		t.Fatalf("content %q after a failed write", data)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	if err := writeFile(filepath.Join(t.TempDir(), "no", "x.json"), []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("write into a missing directory: %v", err)
	}
}

func TestCopyRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shop.production.lkg.json")
	in := Copy{Project: "shop", Environment: "production", Version: 7, Client: "a.b.c", ETag: `"x"`}
	if err := WriteCopy(p, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCopy(p, "shop", "production")
	in.Format = Format
	if err != nil || *got != in {
		t.Fatalf("ReadCopy = %+v, %v; want %+v", got, err, in)
	}
	if _, err := ReadCopy(p, "shop", "staging"); err == nil || !strings.Contains(err.Error(), "want format 1 for shop/staging") {
		t.Fatalf("another environment: %v", err)
	}
	if _, err := ReadCopy(filepath.Join(t.TempDir(), "none"), "shop", "production"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing copy: %v", err)
	}
}

// TestRecordsAreStrict: a record that is not exactly one object of the
// known fields is refused; nothing half-parsed comes back.
func TestRecordsAreStrict(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown field":   `{"format":1,"project":"shop","environment":"production","version":1,"extra":1}`,
		"trailing data":   `{"format":1,"project":"shop","environment":"production","version":1} {}`,
		"truncated":       `{"format":1,"project":"shop","environ`,
		"wrong format":    `{"format":2,"project":"shop","environment":"production","version":1}`,
		"not an object":   `[1]`,
		"negative number": `{"format":1,"project":"shop","environment":"production","version":-1}`,
		"duplicate field": `{"format":1,"project":"shop","environment":"production","version":1,"v\u0065rsion":9}`,
		"nested value":    `{"format":1,"project":"shop","environment":"production","version":1,"client":{"a":1}}`,
		"invalid UTF-8":   "{\"format\":1,\"project\":\"sh\xffop\",\"environment\":\"production\",\"version\":1}",
	}
	for name, body := range cases {
		p := filepath.Join(dir, "r.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if c, err := ReadCopy(p, "shop", "production"); err == nil {
			t.Errorf("%s: copy accepted: %+v", name, c)
		}
		if v, err := ReadFloor(p, "shop", "production"); err == nil {
			t.Errorf("%s: floor accepted: %d", name, v)
		}
	}
}

func TestFloor(t *testing.T) {
	p := filepath.Join(t.TempDir(), "floor.json")
	if v, err := ReadFloor(p, "shop", "production"); v != 0 || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no floor yet: %d, %v", v, err)
	}
	if err := WriteFloor(p, "shop", "production", 0); err == nil {
		t.Fatal("floor 0 written")
	}
	for _, v := range []uint64{3, 9} {
		if err := WriteFloor(p, "shop", "production", v); err != nil {
			t.Fatal(err)
		}
		if got, err := ReadFloor(p, "shop", "production"); got != v || err != nil {
			t.Fatalf("ReadFloor = %d, %v; want %d", got, err, v)
		}
	}
	if _, err := ReadFloor(p, "other", "production"); err == nil {
		t.Fatal("a floor of another project was accepted")
	}
	if err := os.WriteFile(p, []byte(`{"format":1,"project":"shop","environment":"production","version":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFloor(p, "shop", "production"); err == nil {
		t.Fatal("a floor of version 0 was accepted")
	}
}

// TestReadRefusesFIFOAndHugeFiles: a FIFO planted where a record belongs is
// refused at once; a record over its limit is refused without reading it.
func TestReadRefusesFIFOAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadCopy(fifo, "shop", "production"); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a FIFO was read as a copy")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxFloor+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFloor(big, "shop", "production"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("oversize floor: %v", err)
	}
}
