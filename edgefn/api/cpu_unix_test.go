//go:build unix

package api_test

import "syscall"

// processCPU is the process's user+system CPU time in ns: benchmarks
// report it per op, which the other processes of a shared machine disturb
// far less than wall time.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
