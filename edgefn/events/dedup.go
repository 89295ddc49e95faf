package events

import (
	"hash/maphash"
	"time"
)

// dedup remembers recently seen keys in two generations of a hash set, so
// that memory stays bounded: at most 2 × capacity keys are held. A key
// stays known for at least window (time) and at least capacity later
// insertions, whichever ends first; after that a repeat is not recognized.
//
// Keys are 64-bit keyed hashes (hash/maphash, seeded at random per
// process): a producer cannot aim collisions at another unit's events, and
// two different keys collide with probability about n²/2⁶⁵ (n = keys held).
type dedup struct {
	seed     maphash.Seed
	window   time.Duration
	capacity int
	cur      map[uint64]struct{}
	prev     map[uint64]struct{}
	start    time.Time
}

func newDedup(window time.Duration, capacity int, now time.Time) *dedup {
	return &dedup{seed: maphash.MakeSeed(), window: window, capacity: capacity,
		cur: make(map[uint64]struct{}), prev: map[uint64]struct{}{}, start: now}
}

// key hashes the parts of an identity.
func (d *dedup) key(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (d *dedup) seen(k uint64) bool {
	if _, ok := d.cur[k]; ok {
		return true
	}
	_, ok := d.prev[k]
	return ok
}

// add records k, rotating generations first when the current one is full
// or older than the window.
func (d *dedup) add(k uint64, now time.Time) {
	if len(d.cur) >= d.capacity || now.Sub(d.start) >= d.window {
		d.prev, d.cur, d.start = d.cur, make(map[uint64]struct{}, len(d.cur)), now
	}
	d.cur[k] = struct{}{}
}

// len is the number of keys held.
func (d *dedup) len() int { return len(d.cur) + len(d.prev) }
