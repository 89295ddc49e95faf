// Package cputime measures process CPU time for benchmarks. They report it
// per op ("cpu-ns/op") next to wall time because the machines they run on
// are shared: wall time includes waiting for a core, process CPU time is
// the benchmark's own work plus the garbage collector's.
package cputime

import "testing"

// Report reports the process CPU nanoseconds per op since start (a value
// of Process) as the metric cpu-ns/op. It reports nothing where Process
// does not measure.
func Report(b *testing.B, start int64) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(Process()-start)/float64(b.N), "cpu-ns/op")
	}
}
