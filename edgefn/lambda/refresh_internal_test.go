package lambda

import (
	"context"
	"testing"
	"time"
)

// TestRefreshContextKeepsTimeToAnswer: the store check ends a quarter of
// the invocation's remaining time before its deadline, at least 100 ms
// and at most 1 s before it; without a deadline it is not bounded here.
func TestRefreshContextKeepsTimeToAnswer(t *testing.T) {
	now := time.Now() // the deadlines must lie ahead: context checks them against the clock
	for _, c := range []struct{ left, keep time.Duration }{
		{2 * time.Second, 500 * time.Millisecond},
		{3 * time.Second, 750 * time.Millisecond},
		{200 * time.Millisecond, 100 * time.Millisecond},
		{10 * time.Second, time.Second},
		{15 * time.Minute, time.Second},
	} {
		ctx, cancel := context.WithDeadline(context.Background(), now.Add(c.left))
		rctx, rcancel := refreshContext(ctx, now)
		dl, ok := rctx.Deadline()
		if !ok || !dl.Equal(now.Add(c.left-c.keep)) {
			t.Errorf("%v left: the check's deadline is %v (set %v), want %v before the invocation's", c.left, dl.Sub(now), ok, c.keep)
		}
		rcancel()
		if ctx.Err() != nil {
			t.Errorf("%v left: ending the check cancelled the invocation", c.left)
		}
		cancel()
	}
	rctx, rcancel := refreshContext(context.Background(), now)
	defer rcancel()
	if _, ok := rctx.Deadline(); ok {
		t.Error("a context without a deadline got one")
	}
}
