//go:build wasm && eftest

package main

// ef_test_trap exists only in test builds (-tags=eftest): it kills the
// instance the way a bug in the module would, so that hosts can show they
// discard and rebuild a trapped instance.
//
//go:wasmexport ef_test_trap
func efTestTrap() { panic("ef_test_trap: deliberate trap") }

var _ any = efTestTrap // called by the host (//go:wasmexport)
