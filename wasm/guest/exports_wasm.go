//go:build wasm

package main

import "unsafe"

// The exports of the module (docs/wasm-abi.md). Pointers are addresses in
// the module's linear memory (unsigned 32-bit), lengths are signed 32-bit
// byte counts. Each call returns its result's length, or minus the length
// of an error object; ef_result gives the result's address.

var inst instance

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
func efSetTrust(p uint32, n int32) (res int32) {
	defer inst.recovered(&res)
	return inst.setTrust(uintptr(p), n)
}

//go:wasmexport ef_open
func efOpen(p uint32, n int32, sec int64, nsec int32) (res int32) {
	defer inst.recovered(&res)
	return inst.open(uintptr(p), n, sec, nsec)
}

//go:wasmexport ef_evaluate
func efEvaluate(kp uint32, kn int32, cp uint32, cn int32, typ int32, sec int64, nsec int32) (res int32) {
	defer inst.recovered(&res)
	return inst.evaluate(uintptr(kp), kn, uintptr(cp), cn, typ, sec, nsec)
}

//go:wasmexport ef_evaluate_all
func efEvaluateAll(cp uint32, cn int32, sec int64, nsec int32) (res int32) {
	defer inst.recovered(&res)
	return inst.evaluateAll(uintptr(cp), cn, sec, nsec)
}
