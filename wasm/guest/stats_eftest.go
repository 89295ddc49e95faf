//go:build wasm && eftest

package main

import (
	"runtime"
	"strconv"
)

// ef_test_memstats (test builds only) writes
// {"heapAlloc":N,"heapSys":N,"totalAlloc":N} to the result buffer:
// figures both runtimes (Go and TinyGo) report.
//
//go:wasmexport ef_test_memstats
func efTestMemstats() int32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inst.out = append(inst.out[:0], `{"heapAlloc":`...)
	inst.out = strconv.AppendUint(inst.out, ms.HeapAlloc, 10)
	inst.out = append(inst.out, `,"heapSys":`...)
	inst.out = strconv.AppendUint(inst.out, ms.HeapSys, 10)
	inst.out = append(inst.out, `,"totalAlloc":`...)
	inst.out = strconv.AppendUint(inst.out, ms.TotalAlloc, 10)
	inst.out = append(inst.out, '}')
	return int32(len(inst.out))
}

var _ any = efTestMemstats // called by the host (//go:wasmexport)
