//go:build wasm

package main

import (
	"runtime"
	"unsafe"
)

// The exports of the module (docs/wasm-abi.md). Pointers are addresses in
// the module's linear memory (unsigned 32-bit), lengths are signed 32-bit
// byte counts. Each call returns its result's length, or minus the length
// of an error object; ef_result gives the result's address.

var inst instance

// calls counts the exports that ran, for yield.
var calls uint32

// yield lets the Go runtime's own goroutines run every 64th call. A
// reactor returns to the host as soon as an export returns, so the
// garbage collector's background worker only runs when the export yields:
// without this, a cycle that starts during an evaluation may never
// finish and the heap grows without bound (TestMemoryStaysFlat saw 11 MB
// become 190 MB over a million evaluations). Yielding costs about 1 µs
// under wazero; every 64th call keeps that under 20 ns a call.
func yield() {
	calls++
	if calls%64 == 0 {
		runtime.Gosched()
	}
}

//go:wasmexport ef_abi_version
func efABIVersion() int32 { return ABIVersion }

//go:wasmexport ef_alloc
func efAlloc(n int32) uint32 {
	_, p := inst.mem.alloc(n)
	return uint32(p)
}

//go:wasmexport ef_free
func efFree(p uint32) int32 {
	if inst.mem.free(uintptr(p)) {
		return 1
	}
	return 0
}

//go:wasmexport ef_result
func efResult() uint32 {
	if len(inst.out) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&inst.out[0])))
}

//go:wasmexport ef_set_trust
func efSetTrust(p uint32, n int32) int32 {
	return inst.setTrust(uintptr(p), n)
}

//go:wasmexport ef_open
func efOpen(p uint32, n int32, sec int64, nsec int32) int32 {
	res := inst.open(uintptr(p), n, sec, nsec)
	collect()
	return res
}

//go:wasmexport ef_evaluate
func efEvaluate(kp uint32, kn int32, cp uint32, cn int32, typ int32, sec int64, nsec int32) int32 {
	res := inst.evaluate(uintptr(kp), kn, uintptr(cp), cn, typ, sec, nsec)
	yield()
	return res
}

//go:wasmexport ef_evaluate_all
func efEvaluateAll(cp uint32, cn int32, sec int64, nsec int32) int32 {
	res := inst.evaluateAll(uintptr(cp), cn, sec, nsec)
	yield()
	return res
}

// collect runs a full garbage collection after an open: decoding a bundle
// allocates several times its size in one call, during which no collection
// can finish (see yield), and the previous bundle has just become garbage.
func collect() { runtime.GC() }

// The host calls the exports through //go:wasmexport, which staticcheck
// does not count as a use.
var _ = [...]any{efABIVersion, efAlloc, efFree, efResult, efSetTrust, efOpen, efEvaluate, efEvaluateAll}
