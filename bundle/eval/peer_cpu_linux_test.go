//go:build linux

package eval_test

import "syscall"

// processCPU returns the process's user+system CPU time in nanoseconds. The
// benchmarks report it per op (cpu-ns/op) next to wall time because the
// shared 2-core machine is oversubscribed and wall time includes waiting.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
