//go:build !unix

package safefile

import "os"

// openNonBlocking opens path for reading; platforms without FIFOs in the
// file system need no special flag.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
