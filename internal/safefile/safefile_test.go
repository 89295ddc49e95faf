package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := Read(path, 5); err != nil || string(data) != "hello" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	if _, err := Read(path, 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over limit: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if data, err := Read(link, 5); err != nil || string(data) != "hello" {
		t.Fatalf("symlink: %q, %v", data, err)
	}
	if _, err := Read(dir, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("directory: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

// TestReadFIFO: a FIFO is refused at once, not read until a writer comes.
func TestReadFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, 1<<20); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		f, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
		f.Close()
		t.Fatal("Read blocked on a FIFO")
	}
}

func TestReadDevice(t *testing.T) {
	if _, err := Read("/dev/zero", 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("/dev/zero: %v", err)
	}
}

// A link to a FIFO or a device is refused by the target's type, before
// the target is opened; the message names the kind of file.
func TestReadNamesTheKind(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	toFIFO, toZero := filepath.Join(dir, "l1.yaml"), filepath.Join(dir, "l2.yaml")
	os.Symlink(fifo, toFIFO)
	os.Symlink("/dev/zero", toZero)
	for path, kind := range map[string]string{toFIFO: "a named pipe", toZero: "a character device", dir: "a directory"} {
		_, err := Read(path, 1<<20)
		if want := "read " + path + ": not a regular file (" + kind + ")"; err == nil || err.Error() != want {
			t.Errorf("Read(%s) = %v, want %q", path, err, want)
		}
	}
}

// A sparse file is refused by its size, before anything is read.
func TestReadChecksSizeFirst(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Read(p, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read of a 1 GiB sparse file = %v, want ErrTooLarge", err)
	}
}
