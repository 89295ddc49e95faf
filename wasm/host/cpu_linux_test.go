//go:build linux

package host

import "syscall"

// processCPU is the process's user+system CPU time in nanoseconds; the
// benchmarks report it per op (cpu-ns/op) because wall time on the shared
// machine includes waiting for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
