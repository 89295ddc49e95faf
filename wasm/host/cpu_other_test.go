//go:build !linux

package host

// processCPU is not measured off Linux (no cpu-ns/op metric).
func processCPU() int64 { return 0 }
