//go:build unix

package peers

import (
	"syscall"
	"testing"
)

// processCPU returns the process's user plus system CPU time in
// nanoseconds, or 0 when it cannot be read.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestCPUClockCountsOnlyTimedWork(t *testing.T) {
	spin := func() {
		for start := processCPU(); processCPU()-start < 20e6; {
		}
	}
	c := startCPU()
	spin()
	c.stop()
	timed := c.total
	spin() // not counted: the clock is stopped
	c.start()
	c.stop()
	if timed < 20e6 {
		t.Fatalf("the clock counted %d ns over 20 ms of spinning", timed)
	}
	if c.total-timed > 10e6 {
		t.Fatalf("the stopped clock counted %d ns more", c.total-timed)
	}
}
