package events

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// nullStore keeps nothing: the benchmarks measure edgefn's own work.
type nullStore struct{}

func (nullStore) Get(context.Context, string) ([]byte, string, error) {
	return nil, "", blob.ErrNotFound
}
func (nullStore) Put(context.Context, string, []byte, blob.Cond) error { return nil }

// BenchmarkParseTrack100 parses and validates one POST /v1/track body of
// 100 events (about 16 KB).
func BenchmarkParseTrack100(b *testing.B) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var parts []string
	for i := 0; i < 100; i++ {
		parts = append(parts, fmt.Sprintf(`{"id":"e-%d","type":"exposure","flagKey":"checkout-button-color","variant":"green","timestamp":"2026-12-01T11:59:%02d.123Z","attributes":{"page":"/checkout"}}`, i, i%60))
	}
	body := []byte(`{"events":[` + strings.Join(parts, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		evs, rej, err := ParseTrack(body, "u-1", now)
		if err != nil || len(evs) != 100 || len(rej) != 0 {
			b.Fatal(err, rej)
		}
	}
}

// BenchmarkAdd buffers 100 fresh events per op (dedup, encode, batch cut,
// zstd of full batches), writing to a store that keeps nothing.
func BenchmarkAdd(b *testing.B) {
	w, err := NewWriter(Config{Store: nullStore{}, Project: "shop", Environment: "production", MaxBuffered: 1 << 30, MaxBufferedBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	evs := make([]eventlog.Event, 100)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			n++
			evs[i] = eventlog.Event{ID: fmt.Sprint("e-", n), Type: eventlog.TypeExposure, FlagKey: "checkout-button-color", Variant: "green",
				Timestamp: now, Unit: fmt.Sprint("u-", n%100000), Source: eventlog.SourceTrack}
		}
		if _, _, err := w.Add(evs); err != nil {
			b.Fatal(err)
		}
		if n%10000 == 0 {
			_ = w.FlushDue(context.Background())
		}
	}
}
