// Package safefile reads files a user names — keys, JWKS, bundles,
// secrets — without the hazards of os.ReadFile: a FIFO or device is refused
// instead of blocking or streaming forever, and the size is checked before
// and while reading, so a careless or hostile path costs bounded time and
// memory.
package safefile

import (
	"errors"
	"fmt"
	"io"
)

// ErrNotRegular reports a path that is not a regular file (a FIFO, device,
// socket or directory).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge reports a file over the caller's size limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path (symlinks are
// followed), which must hold at most max bytes. The file is opened without
// blocking, so a FIFO is refused at once rather than waiting for a writer.
func Read(path string, max int64) ([]byte, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %w (%s)", path, ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("read %s: %w: %d bytes, limit is %d", path, ErrTooLarge, fi.Size(), max)
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
