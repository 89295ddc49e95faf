//go:build tinygo

package main

import "unsafe"

// arc4random replaces wasi-libc's for TinyGo's runtime, which calls it for
// its random seeds: that one links the C library's assert and with it
// printf and stdio, 20 KB of the module for a message nobody reads.
// Random bytes come from the host (WASI random_get), as wasi-libc's do.
//
//export arc4random
func arc4random() uint32 {
	var n uint32
	if randomGet(unsafe.Pointer(&n), 4) != 0 {
		// Without the host's random bytes the seeds are only less
		// random; nothing the module computes depends on them.
		return 0x9e3779b9
	}
	return n
}

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf unsafe.Pointer, n uint32) uint32
