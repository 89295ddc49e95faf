//go:build unix

package benchmetric

import "syscall"

// CPU returns the process's user plus system CPU time in nanoseconds,
// or 0 when it cannot be read.
func CPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
