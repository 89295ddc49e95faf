//go:build unix

package benchmetric

import "testing"

// TestCPUAdvances checks that CPU measures this process: it is
// positive and grows while the process computes.
func TestCPUAdvances(t *testing.T) {
	start := CPU()
	if start <= 0 {
		t.Fatalf("CPU() = %d, want > 0", start)
	}
	x := uint64(1)
	for round := 0; CPU()-start < 2e6; round++ { // until 2 ms of CPU
		if round == 1e6 {
			t.Fatalf("CPU() did not advance by 2 ms in %d rounds of work (x=%d)", round, x)
		}
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
}

// TestRetained checks that Retained sees what a value keeps alive: a
// 16 MiB slice, within what the rest of the process frees or allocates
// meanwhile (a few KiB in this test binary).
func TestRetained(t *testing.T) {
	const size = 16 << 20
	got := Retained(func() any { return make([]byte, size) })
	if got < size-256<<10 || got > size+1<<20 {
		t.Fatalf("Retained of a 16 MiB slice = %d bytes", got)
	}
}
