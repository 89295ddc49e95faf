package client

import "time"

// breaker is the refresh circuit breaker. Closed, it lets every refresh
// through; threshold consecutive failures (or a server's Retry-After) open
// it for a cooldown; when the cooldown has passed, one refresh goes
// through (half-open): success closes it, failure opens it again for twice
// the cooldown, up to max. Pure: the time is an argument, and the caller
// serializes calls.
type breaker struct {
	threshold int
	base, max time.Duration

	failures int
	open     bool
	probing  bool // half-open: the current attempt is the probe
	until    time.Time
	cooldown time.Duration
}

// allow reports whether a refresh may run at now; an open breaker whose
// cooldown has passed lets one through as the half-open probe.
func (b *breaker) allow(now time.Time) bool {
	if !b.open {
		return true
	}
	if now.Before(b.until) {
		return false
	}
	b.probing = true
	return true
}

// success closes the breaker.
func (b *breaker) success() {
	b.failures, b.open, b.probing, b.cooldown = 0, false, false, 0
}

// failure counts a failed refresh at now; retryAfter is the server's
// Retry-After (0: none).
func (b *breaker) failure(now time.Time, retryAfter time.Duration) {
	b.failures++
	switch {
	case b.probing:
		b.cooldown = min(2*b.cooldown, b.max)
	case b.failures >= b.threshold || retryAfter > 0:
		if !b.open {
			b.cooldown = b.base
		}
	default:
		return
	}
	b.open, b.probing = true, false
	b.until = now.Add(max(b.cooldown, min(retryAfter, b.max)))
}

// state returns the breaker's state at now and, when open, when it lets
// the next refresh through.
func (b *breaker) state(now time.Time) (string, time.Time) {
	switch {
	case !b.open:
		return BreakerClosed, time.Time{}
	case b.probing || !now.Before(b.until):
		return BreakerHalfOpen, b.until
	}
	return BreakerOpen, b.until
}
