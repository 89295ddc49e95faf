//go:build !linux

package envelope_test

// processCPU is not measured on this OS; benchmarks then report 0 cpu-ns/op.
func processCPU() int64 { return 0 }
