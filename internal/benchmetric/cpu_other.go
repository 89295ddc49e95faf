//go:build !unix

package benchmetric

// CPU returns 0: process CPU time is not measured on this system.
func CPU() int64 { return 0 }
