package host

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// TestConcurrentUse: 8 goroutines evaluate on a pool of 4 instances while
// another opens newer versions of the bundle and resets the trust. Every
// result equals the native engine's for the version it reports, versions
// never go backwards within a goroutine, and after the last Open every
// instance serves the last version. Run with -race (make test does).
func TestConcurrentUse(t *testing.T) {
	forEachModule(t, testConcurrentUse)
}

func testConcurrentUse(t *testing.T, m wasmbuild.Spec) {
	s, err := conformance.LoadFile(corpusDir(t) + "/splits.json")
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, m, Options{Instances: 4})
	ctx := context.Background()
	first := seal(t, s.Bundle, 1)
	suiteIR := mustDecode(t, s.Bundle)
	opened, err := envelope.Open(first, nativeTrust(t, suiteIR, openAt))
	if err != nil {
		t.Fatal(err)
	}
	native := opened.Engine
	if err := h.SetTrust(ctx, trustFor(suiteIR)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Open(ctx, first, openAt); err != nil {
		t.Fatal(err)
	}
	const workers, rounds, versions = 8, 60, 6
	keys := native.Keys()
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	wg.Add(1)
	go func() { // the publisher side
		defer wg.Done()
		for v := uint64(2); v <= versions; v++ {
			if err := h.SetTrust(ctx, trustFor(suiteIR)); err != nil {
				errs <- err
				return
			}
			if _, err := h.Open(ctx, seal(t, s.Bundle, v), openAt); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			last := uint64(0)
			for i := 0; i < rounds; i++ {
				unit := fmt.Sprintf(`{"targetingKey":"user-%d-%d","plan":"pro"}`, w, i)
				evalCtx := eval.Context{"targetingKey": fmt.Sprintf("user-%d-%d", w, i), "plan": "pro"}
				var got []Result
				if i%3 == 0 {
					rs, err := h.EvaluateAll(ctx, []byte(unit), openAt)
					if err != nil {
						errs <- err
						return
					}
					got = rs
				} else {
					r, err := h.Evaluate(ctx, keys[i%len(keys)], []byte(unit), openAt)
					if err != nil {
						errs <- err
						return
					}
					got = []Result{r}
				}
				for _, r := range got {
					if r.Version < last || r.Version < 1 || r.Version > versions {
						errs <- fmt.Errorf("worker %d: version %d after %d", w, r.Version, last)
						return
					}
					last = r.Version
					want := native.Evaluate(r.Key, evalCtx, openAt)
					if r.Variant != want.Variant || r.Reason != string(want.Reason) || r.RuleID != want.RuleID {
						errs <- fmt.Errorf("worker %d: %s = %+v, native %+v", w, r.Key, r, want)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 0; i < 8; i++ {
		r, err := h.Evaluate(ctx, keys[0], nil, openAt)
		if err != nil || r.Version != versions {
			t.Fatalf("after the last open: %+v, %v, want version %d", r, err, versions)
		}
	}
	if n := h.live.Load(); n > 4 {
		t.Errorf("%d instances alive for a pool of 4", n)
	}
}
