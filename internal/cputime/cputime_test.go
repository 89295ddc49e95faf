//go:build unix

package cputime

import "testing"

// TestProcessAdvances checks that Process measures this process: it is
// positive and grows while the process computes.
func TestProcessAdvances(t *testing.T) {
	start := Process()
	if start <= 0 {
		t.Fatalf("Process() = %d, want > 0", start)
	}
	x := uint64(1)
	for round := 0; Process()-start < 2e6; round++ { // until 2 ms of CPU
		if round == 1e6 {
			t.Fatalf("Process() did not advance by 2 ms in %d rounds of work (x=%d)", round, x)
		}
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
}
