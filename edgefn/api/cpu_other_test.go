//go:build !unix

package api_test

func processCPU() int64 { return 0 }
