// Package events is edgefn's side of event tracking: it validates and
// deduplicates the events of POST /v1/track, records server-side
// exposures of running experiments, counts evaluations for the analytics
// summaries, and writes all of it to the store in batches of zstd NDJSON
// (publisher/eventlog's layout) with create-only writes.
//
// Nothing accepted is dropped silently: an event the Writer accepted stays
// in memory until a batch holding it is written; when the buffer is full,
// Add refuses (the HTTP handler answers 503 with Retry-After) instead of
// evicting anything; Close reports the events it could not write.
package events

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/api"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Store is the part of a store the writer uses (publisher/store's file
// and S3 stores).
type Store interface {
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
	Put(ctx context.Context, key string, data []byte, cond blob.Cond) error
}

// Defaults of Config.
const (
	DefaultMaxBatchEvents   = 10_000
	DefaultMaxBatchBytes    = 4 << 20 // uncompressed NDJSON
	DefaultMaxAge           = 30 * time.Second
	DefaultMaxBuffered      = 100_000
	DefaultMaxBufferedBytes = 64 << 20
	DefaultDedupWindow      = time.Hour
	DefaultDedupCapacity    = 200_000
	DefaultMaxSummaryKeys   = 100_000
)

// Config configures a Writer. Zero fields take the defaults.
type Config struct {
	Store                Store
	Project, Environment string
	// WriterID names this writer in batch keys; it must be unique among
	// the writers of an environment at any one time (default: 16 random
	// hex digits, new for every process).
	WriterID string
	// MaxBatchEvents and MaxBatchBytes cut a batch by size.
	MaxBatchEvents, MaxBatchBytes int
	// MaxAge cuts a batch when its oldest event has waited this long, and
	// is the interval of the analytics summaries.
	MaxAge time.Duration
	// MaxBuffered and MaxBufferedBytes bound the events held in memory
	// (waiting for their batch to be cut or written); Add refuses beyond.
	MaxBuffered, MaxBufferedBytes int
	// DedupWindow and DedupCapacity bound duplicate detection (see Add).
	DedupWindow   time.Duration
	DedupCapacity int
	// MaxSummaryKeys bounds the distinct (hour, flag, variant, reason)
	// counters held; evaluations beyond are counted as SummaryOverflow.
	MaxSummaryKeys int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Store == nil {
		return errors.New("new event writer: Store is required")
	}
	if err := eventlog.CheckEnv(c.Project, c.Environment); err != nil {
		return fmt.Errorf("new event writer: %w", err)
	}
	if c.WriterID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("new event writer: %w", err)
		}
		c.WriterID = hex.EncodeToString(b[:])
	}
	if err := eventlog.CheckWriter(c.WriterID); err != nil {
		return fmt.Errorf("new event writer: %w", err)
	}
	set := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	set(&c.MaxBatchEvents, DefaultMaxBatchEvents)
	set(&c.MaxBatchBytes, DefaultMaxBatchBytes)
	set(&c.MaxBuffered, DefaultMaxBuffered)
	set(&c.MaxBufferedBytes, DefaultMaxBufferedBytes)
	set(&c.DedupCapacity, DefaultDedupCapacity)
	set(&c.MaxSummaryKeys, DefaultMaxSummaryKeys)
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ErrFull reports that the buffer cannot take the events now; nothing of
// the call was accepted. Retry after Writer.RetryAfter.
var ErrFull = errors.New("event buffer full")

// Writer buffers, deduplicates and writes events and evaluation counts.
// Its methods are safe for concurrent use.
type Writer struct {
	cfg Config

	mu       sync.Mutex
	dedup    *dedup
	open     *openBatch
	sealed   []*sealedBatch // in order; written oldest first
	buffered int            // events in open + sealed event batches
	bufBytes int
	seq      uint64
	counts   map[summaryKey]uint64
	lastSum  time.Time
	stats    Stats
	wake     chan struct{}

	flushMu sync.Mutex // one flush at a time: batches are written in order, once

	runOnce   sync.Once
	runCtx    context.Context // canceled by Close: aborts Run's writes in flight
	runCancel context.CancelFunc
	stop      chan struct{}
	done      chan struct{}
}

// Stats are the writer's counters since it started.
type Stats struct {
	// Accepted and Duplicates count the events of Add; Refused the
	// events refused because the buffer was full.
	Accepted, Duplicates, Refused uint64
	// Written counts events in batches written; Batches the event and
	// summary batches written; WriteErrors the failed attempts.
	Written, Batches, WriteErrors uint64
	// Evaluations counts Count calls; SummaryOverflow those not kept
	// because MaxSummaryKeys counters were held, SummaryInvalid those
	// whose names a summary cannot hold.
	Evaluations, SummaryOverflow, SummaryInvalid uint64
	// Buffered is the number of events not yet written; Pending the
	// batches cut but not yet written.
	Buffered, Pending int
}

type openBatch struct {
	hour  time.Time
	first time.Time // when its first event was accepted
	data  []byte    // NDJSON
	n     int
}

type sealedBatch struct {
	kind     eventlog.Kind
	hour     time.Time
	key      string
	data     []byte // compressed
	raw      int    // uncompressed bytes (event batches: counted in bufBytes)
	n        int    // events or summary lines
	attempts int
	nextTry  time.Time
	// checkFailures counts read-backs of a taken key that failed.
	checkFailures int
}

// maxCheckFailures is how many failed read-backs of a taken key make the
// batch move to a fresh key.
const maxCheckFailures = 3

type summaryKey struct {
	hour                  time.Time
	flag, variant, reason string
}

// NewWriter returns a writer. Call Run (serve) or FlushDue after each
// invocation (Lambda), and Close at the end.
func NewWriter(cfg Config) (*Writer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	now := cfg.Now()
	runCtx, runCancel := context.WithCancel(context.Background())
	// Sequence numbers start at the start time in microseconds and grow by
	// one per batch: a writer id reused after a restart still gets new
	// keys (unless it wrote more batches than microseconds passed), and
	// create-only writes catch whatever remains.
	return &Writer{cfg: cfg, dedup: newDedup(cfg.DedupWindow, cfg.DedupCapacity, now), seq: uint64(now.UnixMicro()),
		counts: map[summaryKey]uint64{}, lastSum: now, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		runCtx: runCtx, runCancel: runCancel}, nil
}

// WriterID is the id in this writer's batch keys.
func (w *Writer) WriterID() string { return w.cfg.WriterID }

// Add accepts events (Received is set to now), dropping those whose
// (Unit, ID) it has seen before: within the call, and in earlier calls
// within DedupWindow and the last DedupCapacity events (older repeats are
// written again; readers deduplicate too). It returns how many were
// accepted and how many were duplicates, or ErrFull and nothing accepted
// when the buffer cannot hold them. Events must have passed
// eventlog.Validate.
func (w *Writer) Add(evs []eventlog.Event) (accepted, duplicates int, err error) {
	if len(evs) == 0 {
		return 0, 0, nil
	}
	now := w.cfg.Now().UTC()
	lines := make([][]byte, len(evs))
	size := 0
	for i := range evs {
		evs[i].Received = now
		lines[i] = append(evs[i].AppendJSON(nil), '\n')
		size += len(lines[i])
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]uint64, len(evs))
	fresh := make([]int, 0, len(evs))
	inCall := make(map[uint64]struct{}, len(evs))
	freshBytes := 0
	for i := range evs {
		k := w.dedup.key(evs[i].Unit, evs[i].ID)
		keys[i] = k
		if _, dup := inCall[k]; dup || w.dedup.seen(k) {
			duplicates++
			continue
		}
		inCall[k] = struct{}{}
		fresh = append(fresh, i)
		freshBytes += len(lines[i])
	}
	if w.buffered+len(fresh) > w.cfg.MaxBuffered || w.bufBytes+freshBytes > w.cfg.MaxBufferedBytes {
		w.stats.Refused += uint64(len(evs))
		return 0, 0, ErrFull
	}
	for _, i := range fresh {
		w.dedup.add(keys[i], now)
		w.appendLine(lines[i], now)
	}
	w.buffered += len(fresh)
	w.bufBytes += freshBytes
	w.stats.Accepted += uint64(len(fresh))
	w.stats.Duplicates += uint64(duplicates)
	return len(fresh), duplicates, nil
}

// appendLine adds one line to the open batch, cutting it first when the
// hour changed or the line would not fit. Called with mu held.
func (w *Writer) appendLine(line []byte, now time.Time) {
	hour := eventlog.HourOf(now)
	if o := w.open; o != nil && (!o.hour.Equal(hour) || o.n >= w.cfg.MaxBatchEvents || len(o.data)+len(line) > w.cfg.MaxBatchBytes) {
		w.seal()
	}
	if w.open == nil {
		w.open = &openBatch{hour: hour, first: now}
	}
	w.open.data = append(w.open.data, line...)
	w.open.n++
	if w.open.n >= w.cfg.MaxBatchEvents || len(w.open.data) >= w.cfg.MaxBatchBytes {
		w.seal()
	}
}

// seal cuts the open batch. Called with mu held.
func (w *Writer) seal() {
	o := w.open
	if o == nil {
		return
	}
	w.open = nil
	w.sealed = append(w.sealed, &sealedBatch{kind: eventlog.KindEvents, hour: o.hour, key: w.nextKey(eventlog.KindEvents, o.hour),
		data: eventlog.Compress(o.data), raw: len(o.data), n: o.n})
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Writer) nextKey(kind eventlog.Kind, hour time.Time) string {
	w.seq++
	return eventlog.BatchKey(w.cfg.Project, w.cfg.Environment, kind, hour, w.cfg.WriterID, w.seq)
}

// Count records one evaluation for the analytics summaries: flag served
// variant with reason at t (the hour it falls in).
func (w *Writer) Count(flag, variant, reason string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.countLocked(eventlog.HourOf(t), flag, variant, reason)
}

// CountExposures records the evaluations of a batch (a bulk answer's) for
// the analytics summaries under one lock.
func (w *Writer) CountExposures(batch []api.Exposure) {
	if len(batch) == 0 {
		return
	}
	var last, hour time.Time
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range batch {
		e := &batch[i]
		if !e.Time.Equal(last) {
			last, hour = e.Time, eventlog.HourOf(e.Time)
		}
		w.countLocked(hour, e.Flag, e.Variant, e.Reason)
	}
}

// countLocked counts one evaluation; a key not counted yet is validated
// first (a counted key was valid). Called with mu held.
func (w *Writer) countLocked(hour time.Time, flag, variant, reason string) {
	k := summaryKey{hour: hour, flag: flag, variant: variant, reason: reason}
	w.stats.Evaluations++
	if n, ok := w.counts[k]; ok {
		w.counts[k] = n + 1
		return
	}
	if eventlog.ValidateSummary(&eventlog.Summary{Hour: hour, Flag: flag, Variant: variant, Reason: reason, Count: 1}) != nil {
		w.stats.SummaryInvalid++
		return
	}
	if len(w.counts) >= w.cfg.MaxSummaryKeys {
		w.stats.SummaryOverflow++
		return
	}
	w.counts[k] = 1
}

// sealSummaries turns the counters into one summary batch per hour.
// Called with mu held.
func (w *Writer) sealSummaries(now time.Time) {
	w.lastSum = now
	if len(w.counts) == 0 {
		return
	}
	byHour := map[time.Time][]eventlog.Summary{}
	for k, n := range w.counts {
		byHour[k.hour] = append(byHour[k.hour], eventlog.Summary{Hour: k.hour, Flag: k.flag, Variant: k.variant, Reason: k.reason, Count: n})
	}
	w.counts = map[summaryKey]uint64{}
	hours := make([]time.Time, 0, len(byHour))
	for h := range byHour {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	for _, h := range hours {
		ss := byHour[h]
		slices.SortFunc(ss, eventlog.CompareSummaries)
		var nd []byte
		for i := range ss {
			nd = append(ss[i].AppendJSON(nd), '\n')
		}
		w.sealed = append(w.sealed, &sealedBatch{kind: eventlog.KindAnalytics, hour: h, key: w.nextKey(eventlog.KindAnalytics, h),
			data: eventlog.Compress(nd), n: len(ss)})
	}
}

// due cuts what is due at now: the open batch when its oldest event is
// MaxAge old or its hour has passed, the summaries every MaxAge. Called
// with mu held.
func (w *Writer) due(now time.Time) {
	if o := w.open; o != nil && (now.Sub(o.first) >= w.cfg.MaxAge || !o.hour.Equal(eventlog.HourOf(now))) {
		w.seal()
	}
	if now.Sub(w.lastSum) >= w.cfg.MaxAge {
		w.sealSummaries(now)
	}
}

// FlushDue writes what is due: batches cut by size, the open batch once
// its age limit has passed, the summaries every MaxAge, and batches whose
// retry time has come. Failed writes stay queued; the error says how many
// batches are waiting.
func (w *Writer) FlushDue(ctx context.Context) error {
	w.mu.Lock()
	w.due(w.cfg.Now())
	w.mu.Unlock()
	return w.write(ctx, false)
}

// Flush cuts and writes everything now (the open batch, the summaries),
// retrying failed writes until they succeed or ctx ends. It returns nil
// only when nothing is left in memory.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	w.seal()
	w.sealSummaries(w.cfg.Now())
	w.mu.Unlock()
	return w.write(ctx, true)
}

// write writes the sealed batches in order. With all, it retries until
// every batch is written or ctx ends; otherwise it writes those whose
// retry time has come, once.
func (w *Writer) write(ctx context.Context, all bool) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	for {
		w.mu.Lock()
		queue := append([]*sealedBatch(nil), w.sealed...)
		w.mu.Unlock()
		var lastErr error
		var wait time.Duration
		for _, b := range queue {
			now := w.cfg.Now()
			if !all && now.Before(b.nextTry) {
				continue
			}
			err := w.put(ctx, b)
			w.mu.Lock()
			if err != nil {
				b.attempts++
				b.nextTry = now.Add(backoff(b.attempts))
				w.stats.WriteErrors++
				lastErr = err
				if d := backoff(b.attempts); wait == 0 || d < wait {
					wait = d
				}
			} else {
				w.remove(b)
			}
			w.mu.Unlock()
			if err != nil {
				w.cfg.Logger.Warn("event batch write failed; kept for retry", "key", b.key, "events", b.n, "attempt", b.attempts, "error", err)
				if ctx.Err() != nil {
					break
				}
			}
		}
		w.mu.Lock()
		left, events := len(w.sealed), w.bufferedSealed()
		w.mu.Unlock()
		if left == 0 {
			return nil
		}
		if !all || ctx.Err() != nil {
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			if lastErr == nil {
				return nil // batches waiting for their retry time
			}
			return fmt.Errorf("write event batches: %d batch(es) with %d event(s) not written yet: %w", left, events, lastErr)
		}
		if wait > time.Second {
			wait = time.Second // Flush is the end of the process: keep trying quickly
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// bufferedSealed counts the events in sealed event batches. Called with mu held.
func (w *Writer) bufferedSealed() int {
	n := 0
	for _, b := range w.sealed {
		if b.kind == eventlog.KindEvents {
			n += b.n
		}
	}
	return n
}

// remove drops a written batch. Called with mu held.
func (w *Writer) remove(b *sealedBatch) {
	for i, s := range w.sealed {
		if s == b {
			w.sealed = append(w.sealed[:i], w.sealed[i+1:]...)
			break
		}
	}
	w.stats.Batches++
	if b.kind == eventlog.KindEvents {
		w.buffered -= b.n
		w.bufBytes -= b.raw
		w.stats.Written += uint64(b.n)
	}
}

// put writes one batch create-only. A lost condition means the key
// exists: when it holds exactly this batch, an earlier attempt whose
// answer was lost did write it (done); otherwise the key belongs to
// another batch and this one moves to a fresh sequence number. A retry
// therefore never overwrites a batch and never writes one twice.
func (w *Writer) put(ctx context.Context, b *sealedBatch) error {
	for tries := 0; ; tries++ {
		err := w.cfg.Store.Put(ctx, b.key, b.data, blob.IfNoneMatch())
		if err == nil {
			return nil
		}
		if !errors.Is(err, blob.ErrPreconditionFailed) {
			return err
		}
		cur, _, gerr := w.cfg.Store.Get(ctx, b.key)
		if gerr != nil && !errors.Is(gerr, blob.ErrNotFound) {
			b.checkFailures++
			if b.checkFailures < maxCheckFailures {
				return fmt.Errorf("check existing batch %s: %w", b.key, gerr)
			}
			// The key cannot be read back (no permission, a broken
			// replica): rather than retry it forever while the buffer
			// fills, write under a fresh key. If an earlier attempt did
			// land, the batch is stored twice; readers drop the repeats.
			b.checkFailures = 0
			w.mu.Lock()
			old := b.key
			b.key = w.nextKey(b.kind, b.hour)
			w.mu.Unlock()
			w.cfg.Logger.Warn("event batch key cannot be read back; writing under a new key (possibly a duplicate batch)", "key", old, "new", b.key, "error", gerr)
			continue
		}
		if gerr == nil && bytes.Equal(cur, b.data) {
			return nil
		}
		if gerr != nil {
			continue // gone again (expired meanwhile): the same key is free
		}
		if tries >= 16 {
			return fmt.Errorf("write batch: %d keys in a row already taken (another writer with id %q?)", tries+1, w.cfg.WriterID)
		}
		w.mu.Lock()
		old := b.key
		b.key = w.nextKey(b.kind, b.hour)
		w.mu.Unlock()
		w.cfg.Logger.Warn("event batch key already taken by another batch; moved to a new sequence number", "key", old, "new", b.key)
	}
}

// backoff is the wait before retry n (1-based): 200 ms doubling to 30 s.
func backoff(n int) time.Duration {
	d := 200 * time.Millisecond
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// RetryAfter is how long a refused producer should wait: until the
// oldest unwritten batch is retried, at least 1 s and at most 30 s.
func (w *Writer) RetryAfter() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := time.Second
	if len(w.sealed) > 0 {
		if r := w.sealed[0].nextTry.Sub(w.cfg.Now()); r > d {
			d = r
		}
	}
	return min(d.Round(time.Second), 30*time.Second)
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Buffered = w.buffered
	s.Pending = len(w.sealed)
	return s
}

// Run writes due batches in the background until Close: every second, and
// at once when a batch is cut by size (edgefn serve).
func (w *Writer) Run() {
	w.runOnce.Do(func() {
		go func() {
			defer close(w.done)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-w.stop:
					return
				case <-tick.C:
				case <-w.wake:
				}
				if err := w.FlushDue(w.runCtx); err != nil && w.runCtx.Err() == nil {
					w.cfg.Logger.Warn("event flush", "error", err)
				}
			}
		}()
	})
}

// Close stops Run and flushes everything (Flush) within ctx. Its error
// names the events that could not be written; they are lost when the
// process exits, so the caller must log it.
func (w *Writer) Close(ctx context.Context) error {
	w.runOnce.Do(func() { close(w.done) }) // never started: nothing to wait for
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.runCancel() // a write in flight returns; Flush writes its batch again (put recognizes a batch that did land)
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	return w.Flush(ctx)
}
