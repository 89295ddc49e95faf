package host

import (
	"context"
	"strconv"
	"testing"

	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
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
	forEachModule(t, testMemoryStaysFlat)
}

func testMemoryStaysFlat(t *testing.T, m wasmbuild.Spec) {
	h := newHost(t, m, Options{Instances: 1})
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

// TestReopenKeepsMemoryFlat: opening bundle after bundle (a refresh loop)
// does not grow memory: in one long-lived TinyGo instance, whose collector
// scans the module's data conservatively, 40 opens of 10 000 flags left
// 60 MB of old bundles alive. An instance whose memory grew by half since
// its first open gets no further bundle (a fresh one does). Every module: the
// instance holding the last bundle is at most twice the size of the first,
// and the pool holds one instance.
func TestReopenKeepsMemoryFlat(t *testing.T) {
	forEachModule(t, testReopenKeepsMemoryFlat)
}

func testReopenKeepsMemoryFlat(t *testing.T, m wasmbuild.Spec) {
	h := newHost(t, m, Options{Instances: 1})
	data, b := f2Bundle(t, 10000, "f2_%05d")
	ctx := context.Background()
	if err := h.SetTrust(ctx, trustFor(b)); err != nil {
		t.Fatal(err)
	}
	size := func() uint32 {
		var s uint32
		if _, err := h.raw(ctx, func(in *instance) ([]byte, error) { s = in.mem.Size(); return nil, nil }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var first, most uint32
	const opens = 30
	for i := 1; i <= opens; i++ {
		if _, err := h.Open(ctx, data, openAt); err != nil {
			t.Fatal(err)
		}
		s := size()
		if i == 1 {
			first = s
		}
		most = max(most, s)
	}
	t.Logf("linear memory after open 1: %d KiB, at most %d KiB over %d opens; %d instances created", first>>10, most>>10, opens, h.created.Load())
	if most > 2*first {
		t.Fatalf("memory grew from %d to %d bytes over %d opens", first, most, opens)
	}
	if n := h.live.Load(); n != 1 {
		t.Fatalf("%d instances alive for a pool of 1", n)
	}
	r, err := h.Evaluate(ctx, "f2_00042", []byte(peerCtxJSON), openAt)
	if err != nil || r.Variant != "senior" {
		t.Fatalf("evaluate after the opens: %+v, %v", r, err)
	}
}
