package host

import (
	"context"
	"strconv"
	"testing"
)

// TestMemoryStaysFlat: a million evaluations, each with a different
// context (so each allocates in the module), do not grow the module's
// linear memory at all past what the first million reached: the module
// keeps nothing per call and reuses its buffers. Where the heap settles
// depends on its layout after the open (it has settled anywhere from
// 400 000 to 1.5 million evaluations, and stayed flat to 6 million), so
// the warm-up is a million. Under wazero the module's clock and randomness
// are fixed, so the Go runtime inside behaves the same on every run.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("a million evaluations; run without -short")
	}
	h := newHost(t, shipped, Options{Instances: 1})
	openCorpus(t, h)
	ctx := context.Background()
	run := func(in *instance, from, to int) {
		buf := []byte(`{"targetingKey":"user-`)
		for i := from; i < to; i++ {
			evalCtx := strconv.AppendInt(buf[:len(`{"targetingKey":"user-`)], int64(i), 10)
			evalCtx = append(evalCtx, `","plan":"pro","age":34}`...)
			var err error
			if i%100 == 0 {
				_, err = in.evaluateAll(ctx, evalCtx, openAt)
			} else {
				_, err = in.evaluate(ctx, "static-split", 0, evalCtx, openAt)
			}
			if err != nil {
				t.Fatalf("evaluation %d: %v", i, err)
			}
		}
	}
	var warm, after uint32
	_, err := h.raw(ctx, func(in *instance) ([]byte, error) {
		run(in, 0, 1_000_000)
		warm = in.mem.Size()
		run(in, 1_000_000, 2_000_000)
		after = in.mem.Size()
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linear memory: %d KiB after 1 000 000 evaluations, %d KiB after 2 000 000", warm>>10, after>>10)
	if after > warm {
		t.Fatalf("linear memory grew from %d to %d bytes over a million evaluations", warm, after)
	}
}
