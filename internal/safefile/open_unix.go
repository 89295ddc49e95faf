//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// openNonBlocking opens path for reading with O_NONBLOCK, so that opening
// a FIFO without a writer returns at once (the caller then refuses it).
// The flag does not affect reads of regular files.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
