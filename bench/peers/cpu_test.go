package peers

import "testing"

// cpuClock accumulates process CPU time over the timed parts of a
// benchmark, started and stopped next to b.StartTimer and b.StopTimer, so
// the peers' figures carry the cpu-ns/op that edgeflag's benchmarks
// report (process CPU per op, garbage collector included). On a shared
// machine wall time also counts waiting for a core; CPU time does not.
type cpuClock struct {
	since, total int64
	broken       bool
}

func startCPU() *cpuClock {
	c := &cpuClock{}
	c.start()
	return c
}

func (c *cpuClock) start() {
	c.since = processCPU()
	c.broken = c.broken || c.since == 0
}

func (c *cpuClock) stop() { c.total += processCPU() - c.since }

// report stops the clock and reports cpu-ns/op, unless CPU time could not
// be read.
func (c *cpuClock) report(b *testing.B) {
	c.stop()
	if !c.broken && b.N > 0 {
		b.ReportMetric(float64(c.total)/float64(b.N), "cpu-ns/op")
	}
}
