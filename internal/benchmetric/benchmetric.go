// Package benchmetric adds the measurements edgeflag's benchmarks report
// next to ns/op, B/op and allocs/op:
//
//   - cpu-ns/op, the process CPU time per op: the machines benchmarks run
//     on are shared, so wall time includes waiting for a core, while
//     process CPU time is the benchmark's own work plus the garbage
//     collector's;
//   - retained-B/<unit>, the heap a built value keeps alive, per unit
//     (for example per flag of a loaded engine).
package benchmetric

import (
	"runtime"
	"testing"
)

// ReportCPU reports the process CPU nanoseconds per op since start (a
// value of CPU) as the metric cpu-ns/op. It reports nothing where CPU
// does not measure.
func ReportCPU(b *testing.B, start int64) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(CPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// Retained returns the heap bytes that build's result keeps alive: live
// heap after a collection with the result held, less live heap before.
func Retained(build func() any) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// ReportRetained reports Retained(build) divided by n as the metric
// retained-B/<unit>.
func ReportRetained(b *testing.B, n int, unit string, build func() any) {
	b.ReportMetric(float64(Retained(build))/float64(n), "retained-B/"+unit)
}
