package auth

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     int
}

// String formats r as ParseRates reads it.
func (r Rate) String() string {
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
}

// ParseRates reads a rate-limit spec: comma-separated ROUTE=N/UNIT[:BURST]
// entries, UNIT one of s, m, h (e.g. "ofrep=200/s:400,tokens=60/m"); BURST
// defaults to the per-second rate rounded up (at least 1). ROUTE must be in
// routes. "ROUTE=off" disables the limit of a route.
func ParseRates(spec string, routes []string) (map[string]*Rate, error) {
	out := map[string]*Rate{}
	if strings.TrimSpace(spec) == "" {
		return out, nil
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("parse rate limits: %q: want ROUTE=N/UNIT[:BURST]", part)
		}
		if !contains(routes, name) {
			return nil, fmt.Errorf("parse rate limits: unknown route %q (routes: %s)", name, strings.Join(routes, ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("parse rate limits: route %q given twice", name)
		}
		if val == "off" {
			out[name] = nil
			continue
		}
		rate, burst, hasBurst := strings.Cut(val, ":")
		n, unit, ok := strings.Cut(rate, "/")
		if !ok {
			return nil, fmt.Errorf("parse rate limits: %q: want N/s, N/m or N/h", part)
		}
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("parse rate limits: %q: rate must be a positive number", part)
		}
		switch unit {
		case "s":
		case "m":
			f /= 60
		case "h":
			f /= 3600
		default:
			return nil, fmt.Errorf("parse rate limits: %q: unit %q, want s, m or h", part, unit)
		}
		r := &Rate{PerSecond: f, Burst: int(math.Max(1, math.Ceil(f)))}
		if hasBurst {
			b, err := strconv.Atoi(burst)
			if err != nil || b < 1 || b > 1_000_000 {
				return nil, fmt.Errorf("parse rate limits: %q: burst must be an integer 1..1000000", part)
			}
			r.Burst = b
		}
		out[name] = r
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Decision is the outcome of one Limiter.Allow.
type Decision struct {
	Allowed bool
	// Limit is the bucket's capacity; Remaining the whole requests left.
	Limit, Remaining int
	// Reset is how long until the bucket is full again; RetryAfter (when
	// not allowed) how long until one request is.
	Reset, RetryAfter time.Duration
}

// maxBuckets bounds a Limiter's memory: past it, buckets that have
// refilled completely (idle callers) are dropped, which changes nothing
// for them.
const maxBuckets = 100_000

// Limiter keeps one token bucket per caller id.
type Limiter struct {
	rate    Rate
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter with rate r for every id.
func NewLimiter(r Rate) *Limiter { return &Limiter{rate: r, buckets: map[string]*bucket{}} }

// Allow takes one request from id's bucket at now.
func (l *Limiter) Allow(id string, now time.Time) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := float64(l.rate.Burst)
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: capacity, at: now}
		l.buckets[id] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*l.rate.PerSecond)
		b.at = now
	}
	d := Decision{Limit: l.rate.Burst}
	if b.tokens >= 1 {
		b.tokens--
		d.Allowed = true
	} else {
		d.RetryAfter = seconds((1 - b.tokens) / l.rate.PerSecond)
	}
	d.Remaining = int(math.Floor(b.tokens))
	d.Reset = seconds((capacity - b.tokens) / l.rate.PerSecond)
	return d
}

// sweep drops the buckets that are full at now; if none are, the oldest
// half. Called with mu held.
func (l *Limiter) sweep(now time.Time) {
	capacity := float64(l.rate.Burst)
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate.PerSecond >= capacity {
			delete(l.buckets, id)
		}
	}
	if len(l.buckets) < maxBuckets {
		return
	}
	type aged struct {
		id string
		at time.Time
	}
	all := make([]aged, 0, len(l.buckets))
	for id, b := range l.buckets {
		all = append(all, aged{id, b.at})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, a := range all[:len(all)/2] {
		delete(l.buckets, a.id)
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
