// Package safefile reads files a user names — config files, keys, JWKS,
// bundles, secrets — without the hazards of os.ReadFile: a FIFO or device
// is refused instead of blocking or streaming forever, and the size is
// checked before and while reading, so a careless or hostile path costs
// bounded time and memory.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular reports a path that is not a regular file (a FIFO, device,
// socket or directory).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge reports a file over the caller's size limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path (symlinks are
// followed), which must hold at most max bytes. The type and size are
// checked before the file is opened, so a device is never opened; the file
// is then opened without blocking and checked again, so a FIFO swapped in
// meanwhile is refused at once rather than waiting for a writer, and at
// most max+1 bytes are ever read even when the file grows.
func Read(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, fi, max); err != nil {
		return nil, err
	}
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(fi, opened) {
		return nil, fmt.Errorf("read %s: %w (replaced while being opened)", path, ErrNotRegular)
	}
	if err := check(path, opened, max); err != nil {
		return nil, err
	}
	// The file may grow between Stat and Read; never read past the limit.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: %w: over %d bytes", path, ErrTooLarge, max)
	}
	return data, nil
}

func check(path string, fi fs.FileInfo, max int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("read %s: %w (%s)", path, ErrNotRegular, Kind(fi.Mode()))
	}
	if fi.Size() > max {
		return fmt.Errorf("read %s: %w: %d bytes, limit is %d", path, ErrTooLarge, fi.Size(), max)
	}
	return nil
}

// Kind names the type of file a mode describes ("a named pipe", ...).
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}
