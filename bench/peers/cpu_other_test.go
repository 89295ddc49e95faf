//go:build !unix

package peers

// processCPU cannot be read here; no cpu-ns/op is reported.
func processCPU() int64 { return 0 }
