//go:build !linux

package ir

// codecCPUTime is unavailable here; benchmarks then report 0 CPU ns/op.
func codecCPUTime() int64 { return 0 }
