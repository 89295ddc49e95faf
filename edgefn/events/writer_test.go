package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var base = time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC)

func newFileStore(t *testing.T) *filestore.Store {
	t.Helper()
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ev(unit, id string, ts time.Time) eventlog.Event {
	return eventlog.Event{ID: id, Type: eventlog.TypeConversion, Name: "purchase", Timestamp: ts, Unit: unit, Source: eventlog.SourceTrack}
}

// stored reads back every event of the environment (all hours of the
// test day and the next) and fails on anything unreadable.
func stored(t *testing.T, st eventlog.Store, project, env string) []eventlog.Event {
	t.Helper()
	var out []eventlog.Event
	s := &eventlog.Scan{Store: st, Project: project, Env: env, Kind: eventlog.KindEvents, From: base.Add(-24 * time.Hour), To: base.Add(48 * time.Hour),
		Bad: func(key string, line int, err error) { t.Errorf("bad %s:%d: %v", key, line, err) }}
	if _, err := s.Events(context.Background(), eventlog.DecodeOptions{}, func(_ string, e *eventlog.Event) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExactly asserts that the store holds exactly the (unit, id) pairs
// of want, each once.
func checkExactly(t *testing.T, got []eventlog.Event, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range got {
		seen[e.Unit+"|"+e.ID]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
		if !want[k] {
			t.Errorf("%s stored but never accepted", k)
		}
	}
	for k := range want {
		if seen[k] == 0 {
			t.Errorf("%s accepted but not stored", k)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// uniqueScenario sends n events of which about a third repeat an earlier
// one (in the same call or an earlier one, with the same unit and id), with
// events spread over two hours, and checks that exactly the unique ones
// are stored once Close returns.
func uniqueScenario(t *testing.T, st Store, project string, n int, cfg Config) {
	t.Helper()
	clk := &clock{t: base.Add(40 * time.Minute)} // the run crosses 11:00
	cfg.Store, cfg.Project, cfg.Environment, cfg.Now = st, project, "production", clk.Now
	w, err := NewWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]bool{}
	var sent []eventlog.Event
	accepted, dups := 0, 0
	for len(sent) < n {
		var call []eventlog.Event
		for i := 0; i < 1+rng.IntN(50) && len(sent)+len(call) < n; i++ {
			var e eventlog.Event
			if len(sent) > 0 && rng.IntN(3) == 0 {
				e = sent[rng.IntN(len(sent))] // a retry of an earlier event
			} else if len(call) > 0 && rng.IntN(10) == 0 {
				e = call[rng.IntN(len(call))] // a repeat within the call
			} else {
				id := fmt.Sprintf("e-%d", len(sent)+len(call))
				e = ev(fmt.Sprintf("u-%d", rng.IntN(200)), id, clk.Now())
			}
			call = append(call, e)
		}
		for _, e := range call {
			want[e.Unit+"|"+e.ID] = true
		}
		a, d, err := w.Add(call)
		if err != nil {
			t.Fatal(err)
		}
		accepted += a
		dups += d
		sent = append(sent, call...)
		clk.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		if rng.IntN(20) == 0 {
			_ = w.FlushDue(context.Background()) // may fail on a failing store: the batch stays queued
		}
	}
	if accepted != len(want) || accepted+dups != len(sent) {
		t.Fatalf("accepted %d, duplicates %d of %d sent; %d unique", accepted, dups, len(sent), len(want))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Buffered != 0 || s.Pending != 0 || s.Written != uint64(accepted) {
		t.Fatalf("after close: %+v", s)
	}
	checkExactly(t, stored(t, st.(listStore), project, "production"), want)
}

func TestUniqueEventsFileStore(t *testing.T) {
	uniqueScenario(t, newFileStore(t), "shop", 5000, Config{MaxBatchEvents: 300, MaxAge: 10 * time.Second})
}

// flaky fails Puts: the first `failFirst` ones, and then every third, half
// of them after the object was written (the answer is lost on the way).
type flaky struct {
	listStore
	failFirst int
	puts      atomic.Int64
	lost      atomic.Int64
}

var errFlaky = errors.New("flaky store: connection reset")

func (f *flaky) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	n := int(f.puts.Add(1))
	if n <= f.failFirst || n%3 == 0 {
		if n%2 == 0 {
			if err := f.listStore.Put(ctx, key, data, cond); err != nil {
				return err
			}
			f.lost.Add(1)
		}
		return errFlaky
	}
	return f.listStore.Put(ctx, key, data, cond)
}

// listStore is a store the tests can write and read back.
type listStore interface {
	Store
	List(ctx context.Context, prefix string) ([]string, error)
}

func TestFailingStoreLosesNothing(t *testing.T) {
	f := &flaky{listStore: newFileStore(t), failFirst: 7}
	uniqueScenario(t, f, "shop", 3000, Config{MaxBatchEvents: 100, MaxAge: 5 * time.Second})
	if f.lost.Load() == 0 || f.puts.Load() < 20 {
		t.Fatalf("the scenario did not exercise lost answers: %d puts, %d lost", f.puts.Load(), f.lost.Load())
	}
}

func TestTakenKeyMovesOn(t *testing.T) {
	st := newFileStore(t)
	clk := &clock{t: base}
	cfg := Config{Store: st, Project: "shop", Environment: "production", WriterID: "fixed", Now: clk.Now}
	// Another process with the same writer id and clock already wrote the
	// first two sequence numbers.
	foreign := map[string][]byte{}
	seq := uint64(base.UnixMicro())
	for i := 1; i <= 2; i++ {
		k := eventlog.BatchKey("shop", "production", eventlog.KindEvents, base, "fixed", seq+uint64(i))
		e := ev("other", fmt.Sprint("x", i), base)
		data := eventlog.Compress(append(e.AppendJSON(nil), '\n'))
		if err := st.Put(context.Background(), k, data, blob.IfNoneMatch()); err != nil {
			t.Fatal(err)
		}
		foreign[k] = data
	}
	w, err := NewWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Add([]eventlog.Event{ev("u", "mine", base)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k, data := range foreign {
		got, _, err := st.Get(context.Background(), k)
		if err != nil || string(got) != string(data) {
			t.Fatalf("foreign batch %s changed: %v", k, err)
		}
	}
	checkExactly(t, stored(t, st, "shop", "production"), map[string]bool{"other|x1": true, "other|x2": true, "u|mine": true})
}

func TestFullBufferRefusesAll(t *testing.T) {
	f := &flaky{listStore: newFileStore(t), failFirst: 1 << 30} // the store is down
	clk := &clock{t: base}
	w, err := NewWriter(Config{Store: f, Project: "shop", Environment: "production", MaxBuffered: 10, MaxBatchEvents: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var first []eventlog.Event
	for i := 0; i < 8; i++ {
		first = append(first, ev("u", fmt.Sprint("a", i), base))
	}
	if a, _, err := w.Add(first); err != nil || a != 8 {
		t.Fatalf("%d %v", a, err)
	}
	_ = w.FlushDue(context.Background())
	more := []eventlog.Event{ev("u", "b0", base), ev("u", "b1", base), ev("u", "b2", base)}
	if a, d, err := w.Add(more); !errors.Is(err, ErrFull) || a != 0 || d != 0 {
		t.Fatalf("full: %d %d %v", a, d, err)
	}
	// Duplicates of buffered events still fit: they take no room.
	if a, d, err := w.Add(first[:2]); err != nil || a != 0 || d != 2 {
		t.Fatalf("dups while full: %d %d %v", a, d, err)
	}
	if ra := w.RetryAfter(); ra < time.Second || ra > 30*time.Second {
		t.Fatalf("retry after %v", ra)
	}
	// The store comes back: everything drains, and the refused events are
	// not remembered as seen: they are accepted when sent again.
	f.failFirst = 0
	f.puts.Store(1) // n%3 failures continue; Flush retries them
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a, d, err := w.Add(more); err != nil || a != 3 || d != 0 {
		t.Fatalf("after drain: %d %d %v", a, d, err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range append(first, more...) {
		want[e.Unit+"|"+e.ID] = true
	}
	checkExactly(t, stored(t, f.listStore, "shop", "production"), want)
	if s := w.Stats(); s.Refused != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCutBySizeAgeAndHour(t *testing.T) {
	st := newFileStore(t)
	clk := &clock{t: base.Add(44 * time.Minute)} // 10:59
	w, err := NewWriter(Config{Store: st, Project: "shop", Environment: "production", MaxBatchEvents: 10, MaxAge: 30 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := func() []string {
		ks, err := st.List(ctx, "shop/production/events/")
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	add := func(n int, prefix string) {
		var evs []eventlog.Event
		for i := 0; i < n; i++ {
			evs = append(evs, ev("u", fmt.Sprintf("%s%d", prefix, i), clk.Now()))
		}
		if _, _, err := w.Add(evs); err != nil {
			t.Fatal(err)
		}
	}
	add(25, "a") // two full batches cut by size, 5 left open
	if err := w.FlushDue(ctx); err != nil {
		t.Fatal(err)
	}
	if k := keys(); len(k) != 2 {
		t.Fatalf("after size cut: %v", k)
	}
	clk.Add(29 * time.Second)
	if err := w.FlushDue(ctx); err != nil || len(keys()) != 2 {
		t.Fatalf("written before its age: %v %v", keys(), err)
	}
	clk.Add(time.Second) // the open batch's oldest event is 30 s old
	if err := w.FlushDue(ctx); err != nil || len(keys()) != 3 {
		t.Fatalf("not written at its age: %v %v", keys(), err)
	}
	add(3, "b") // at 10:59:30
	clk.Add(31 * time.Second)
	add(2, "c") // 11:00:01: a new hour cuts the batch, in its own partition
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var hours []string
	for _, k := range keys() {
		b, err := eventlog.ParseBatchKey(k)
		if err != nil {
			t.Fatal(err)
		}
		hours = append(hours, b.Hour.Format("15"))
	}
	if strings.Join(hours, ",") != "10,10,10,10,11" {
		t.Fatalf("partitions %v", hours)
	}
	for _, e := range stored(t, st, "shop", "production") {
		if strings.HasPrefix(e.ID, "c") != (e.Received.Hour() == 11) {
			t.Fatalf("event %s received %v", e.ID, e.Received)
		}
	}
}

func TestSummaries(t *testing.T) {
	st := newFileStore(t)
	clk := &clock{t: base}
	w, err := NewWriter(Config{Store: st, Project: "shop", Environment: "production", MaxAge: time.Minute, MaxSummaryKeys: 5, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		w.Count("checkout", []string{"on", "off"}[i%2], "SPLIT", base)
	}
	w.Count("checkout", "on", "SPLIT", base.Add(time.Hour)) // next hour
	w.Count("bad key", "on", "SPLIT", base)
	if err := w.FlushDue(context.Background()); err != nil { // not a minute yet
		t.Fatal(err)
	}
	if ks, _ := st.List(context.Background(), "shop/production/analytics/"); len(ks) != 0 {
		t.Fatalf("summaries before MaxAge: %v", ks)
	}
	clk.Add(time.Minute)
	if err := w.FlushDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Count("checkout", "on", "SPLIT", base) // a second record for the same hour
	for i := 0; i < 5; i++ {
		w.Count(fmt.Sprint("f", i), "on", "STATIC", base) // 4 fit beside checkout under MaxSummaryKeys
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sums := map[string]uint64{}
	s := &eventlog.Scan{Store: st, Project: "shop", Env: "production", Kind: eventlog.KindAnalytics, From: base.Add(-time.Hour), To: base.Add(3 * time.Hour),
		Bad: func(key string, line int, err error) { t.Errorf("bad %s:%d %v", key, line, err) }}
	if _, err := s.Summaries(context.Background(), func(_ string, sm *eventlog.Summary) error {
		sums[fmt.Sprintf("%s %s %s %s", sm.Hour.Format("15"), sm.Flag, sm.Variant, sm.Reason)] += sm.Count
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"10 checkout on SPLIT": 16, "10 checkout off SPLIT": 15, "11 checkout on SPLIT": 1,
		"10 f0 on STATIC": 1, "10 f1 on STATIC": 1, "10 f2 on STATIC": 1, "10 f3 on STATIC": 1}
	if fmt.Sprint(sums) != fmt.Sprint(want) {
		t.Fatalf("sums %v\nwant %v", sums, want)
	}
	if st := w.Stats(); st.SummaryOverflow != 1 || st.SummaryInvalid != 1 || st.Evaluations != 38 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcurrentAddRunClose(t *testing.T) {
	st := newFileStore(t)
	w, err := NewWriter(Config{Store: st, Project: "shop", Environment: "production", MaxBatchEvents: 50, MaxAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Run()
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[string]bool{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				e := ev(fmt.Sprint("u", g), fmt.Sprint("e", i%200), time.Now()) // the last 100 repeat
				if _, _, err := w.Add([]eventlog.Event{e}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[e.Unit+"|"+e.ID] = true
				mu.Unlock()
				w.Count("f", "on", "STATIC", time.Now())
			}
		}(g)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []eventlog.Event
	s := &eventlog.Scan{Store: st, Project: "shop", Env: "production", Kind: eventlog.KindEvents, From: time.Now().Add(-2 * time.Hour), To: time.Now().Add(time.Hour)}
	if _, err := s.Events(context.Background(), eventlog.DecodeOptions{}, func(_ string, e *eventlog.Event) error { got = append(got, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	checkExactly(t, got, want)
	if len(want) != 1600 {
		t.Fatalf("%d unique", len(want))
	}
}

func TestDedupBounds(t *testing.T) {
	d := newDedup(time.Minute, 100, base)
	k := d.key("u", "a")
	if d.key("u", "a") != k || d.key("ua", "") == k || d.key("u", "b") == k {
		t.Fatal("key is not a function of its parts")
	}
	d.add(k, base)
	// Known through 99 more insertions and a rotation...
	for i := 0; i < 150; i++ {
		d.add(d.key("x", fmt.Sprint(i)), base)
	}
	if !d.seen(k) {
		t.Fatal("forgotten within capacity")
	}
	// ...forgotten after two rotations; memory stays at most 2 × capacity.
	for i := 150; i < 300; i++ {
		d.add(d.key("x", fmt.Sprint(i)), base)
	}
	if d.seen(k) || d.len() > 200 {
		t.Fatalf("seen %v, %d held", d.seen(k), d.len())
	}
	// Time: known for at least the window.
	d2 := newDedup(time.Minute, 1000, base)
	d2.add(k, base.Add(59*time.Second))
	d2.add(d2.key("y"), base.Add(60*time.Second)) // rotation
	d2.add(d2.key("z"), base.Add(119*time.Second))
	if !d2.seen(k) {
		t.Fatal("forgotten within the window")
	}
	d2.add(d2.key("w"), base.Add(120*time.Second)) // second rotation
	if d2.seen(k) {
		t.Fatal("kept past two windows")
	}
}

func TestConfigChecks(t *testing.T) {
	st := newFileStore(t)
	for _, c := range []Config{
		{Project: "shop", Environment: "p"},
		{Store: st, Project: "..", Environment: "p"},
		{Store: st, Project: "shop", Environment: ""},
		{Store: st, Project: "shop", Environment: "p", WriterID: "Bad-Id"},
	} {
		if _, err := NewWriter(c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	w1, err1 := NewWriter(Config{Store: st, Project: "shop", Environment: "p"})
	w2, err2 := NewWriter(Config{Store: st, Project: "shop", Environment: "p"})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if w1.WriterID() == w2.WriterID() || len(w1.WriterID()) != 16 {
		t.Fatalf("writer ids %q %q", w1.WriterID(), w2.WriterID())
	}
}

// unreadable loses the answer of every other Put and never lets a batch be
// read back (an IAM policy without s3:GetObject, say).
type unreadable struct {
	listStore
	puts int
}

func (u *unreadable) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	u.puts++
	if err := u.listStore.Put(ctx, key, data, cond); err != nil {
		return err
	}
	if u.puts%2 == 1 {
		return errFlaky // written, but the answer is lost
	}
	return nil
}

func (u *unreadable) Get(ctx context.Context, key string) ([]byte, string, error) {
	return nil, "", errors.New("access denied")
}

func TestUnreadableKeyMovesOnAndLosesNothing(t *testing.T) {
	fs := newFileStore(t)
	u := &unreadable{listStore: fs}
	clk := &clock{t: base}
	w, err := NewWriter(Config{Store: u, Project: "shop", Environment: "production", MaxBatchEvents: 5, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var evs []eventlog.Event
	for i := 0; i < 20; i++ {
		e := ev("u", fmt.Sprint("e", i), base)
		evs = append(evs, e)
		want["u|"+e.ID] = true
	}
	if _, _, err := w.Add(evs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for w.Stats().Pending > 0 && ctx.Err() == nil {
		clk.Add(time.Minute) // past every retry time
		_ = w.FlushDue(ctx)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Every event is there; batches whose answer was lost are there twice.
	seen := map[string]int{}
	for _, e := range stored(t, fs, "shop", "production") {
		seen[e.Unit+"|"+e.ID]++
	}
	for k := range want {
		if seen[k] == 0 {
			t.Fatalf("%s lost", k)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d distinct events stored, want %d", len(seen), len(want))
	}
}
