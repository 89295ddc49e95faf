//go:build !unix

package cputime

// Process returns 0: process CPU time is not measured on this system.
func Process() int64 { return 0 }
