//go:build linux

package ir

import "syscall"

// codecCPUTime returns the process's user+system CPU time in nanoseconds,
// so benchmarks can report CPU per op next to wall time on a shared,
// overloaded machine.
func codecCPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
