package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by Refresh after Close.
var ErrClosed = errors.New("offline client closed")

// Refresh fetches the bundle once now (conditionally), verifies it and
// serves it if it is newer. On failure the served bundle stays and the
// error, a *RefreshError, is also recorded in Status; while the circuit
// breaker is open it fails at once with reason ReasonBreakerOpen (not
// counted as a failure). A ctx canceled by the caller aborts the refresh
// without counting against the server.
func (c *Client) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	now := c.cfg.Now()
	c.mu.Lock()
	allowed := c.brk.allow(now)
	floor := c.floor
	_, until := c.brk.state(now)
	c.mu.Unlock()
	if !allowed {
		return &RefreshError{Reason: ReasonBreakerOpen, Err: fmt.Errorf("refresh bundle: the circuit breaker is open after %d failures; next attempt at %s",
			c.Status().ConsecutiveFailures, until.UTC().Format(time.RFC3339))}
	}
	cur := c.cur.Load()
	have := cur
	if !c.usable(have, now) {
		have = nil // not served: fetch in full, never answer "unchanged"
	}

	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	stop := context.AfterFunc(c.ctx, cancel) // Close aborts a refresh in flight
	g, err := c.src.fetch(rctx, c, have, floor)
	timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
	stop()
	cancel()
	if err != nil && (ctx.Err() != nil || c.ctx.Err() != nil) {
		return err // the caller gave up, or Close: not the server's fault
	}
	if err != nil && timedOut {
		err = &RefreshError{Reason: ReasonTimeout, Err: fmt.Errorf("refresh bundle: no answer within %s: %w", c.cfg.Timeout, err)}
	}
	var next *loaded
	if err == nil && g.data != nil {
		next, err = c.accept(g, cur, have, floor, now)
	}
	if err == nil && next == nil && have != nil && g.etag != "" && g.etag != have.etag {
		// The same bundle under a new entity tag: keep the tag for the next
		// conditional request (also after a restart).
		e := *have
		e.etag = g.etag
		next = &e
	}
	if err != nil {
		c.failed(err)
		return err
	}
	if next != nil {
		c.cur.Store(next)
		c.persist(next, true)
		if next.claims.Version != versionOf(cur) {
			c.cfg.Logger.Info("serving a new bundle version", "version", next.claims.Version, "previous", versionOf(cur), "kid", next.claims.KeyID)
		}
	}
	c.mu.Lock()
	end := c.cfg.Now()
	c.st.LastAttempt, c.st.LastSuccess = end, end
	c.st.LastFailure, c.st.LastError = "", ""
	c.st.ConsecutiveFailures = 0
	c.confirmed.Store(true)
	c.brk.success()
	c.notifyLocked(end)
	c.mu.Unlock()
	return nil
}

// accept verifies fetched bytes; it returns the bundle to serve, or nil
// when it is the version already served.
func (c *Client) accept(g got, cur, have *loaded, floor uint64, now time.Time) (*loaded, error) {
	b, err := c.open(g.data, now, floor)
	if err != nil {
		return nil, &RefreshError{Reason: rejection(err), Err: fmt.Errorf("refresh bundle: %w", err)}
	}
	if have != nil && b.Claims.Version == have.claims.Version {
		return nil, nil
	}
	if cur != nil && b.Claims.Version < cur.claims.Version {
		// Cannot pass the floor check (the floor is at least the served
		// version); kept as a second line.
		return nil, &RefreshError{Reason: "ErrRollback", Err: fmt.Errorf("refresh bundle: version %d is below the served version %d", b.Claims.Version, cur.claims.Version)}
	}
	return newLoaded(b, g.data, g.etag, "network"), nil
}

// failed records a failed refresh.
func (c *Client) failed(err error) {
	var re *RefreshError
	if !errors.As(err, &re) {
		re = &RefreshError{Reason: ReasonNetwork, Err: err}
	}
	c.mu.Lock()
	end := c.cfg.Now()
	c.st.LastAttempt = end
	c.st.LastFailure, c.st.LastError = re.Reason, re.Error()
	c.st.ConsecutiveFailures++
	c.confirmed.Store(false)
	c.brk.failure(end, re.retryAfter)
	state, until := c.brk.state(end)
	c.notifyLocked(end)
	n := c.st.ConsecutiveFailures
	c.mu.Unlock()
	c.cfg.Logger.Warn("bundle refresh failed", "reason", re.Reason, "error", re.Error(), "consecutiveFailures", n,
		"breaker", state, "nextAttempt", until, "servedVersion", versionOf(c.cur.Load()))
}

// Start runs refreshes in the background until Close: at once (unless a
// refresh ran less than an interval ago), then every RefreshInterval ±
// Jitter after the last attempt, and, while the circuit breaker is open,
// when it lets the next one through (plus jitter). Calling Start again
// does nothing.
func (c *Client) Start() {
	c.startOnce.Do(func() {
		c.done = make(chan struct{})
		go c.loop()
	})
}

func (c *Client) loop() {
	defer close(c.done)
	for first := true; ; first = false {
		d := c.nextDelay()
		if !first {
			d = max(d, time.Millisecond) // never spin
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-c.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if c.ctx.Err() != nil {
			return
		}
		_ = c.Refresh(c.ctx) // recorded in Status and the log
		c.Check()
	}
}

// nextDelay is the time until the next background refresh is due (≤ 0:
// now).
func (c *Client) nextDelay() time.Duration {
	now := c.cfg.Now()
	c.mu.Lock()
	state, until := c.brk.state(now)
	last := c.st.LastAttempt
	c.mu.Unlock()
	if state != BreakerClosed {
		// Wait for the breaker, spread by the jitter (never before it).
		return until.Sub(now) + time.Duration(c.cfg.Jitter*c.cfg.Rand()*float64(c.cfg.BreakerCooldown))
	}
	if last.IsZero() {
		return 0
	}
	return last.Add(jittered(c.cfg.RefreshInterval, c.cfg.Jitter, c.cfg.Rand())).Sub(now)
}

// jittered returns interval×(1 + jitter×(2r−1)) for r in [0, 1).
func jittered(interval time.Duration, jitter, r float64) time.Duration {
	return time.Duration(float64(interval) * (1 + jitter*(2*r-1)))
}
