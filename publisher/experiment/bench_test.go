package experiment

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// memStore is a read-only in-memory store of batches.
type memStore map[string][]byte

func (m memStore) Get(_ context.Context, k string) ([]byte, string, error) { return m[k], "", nil }
func (m memStore) List(_ context.Context, prefix string) ([]string, error) {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks, nil
}

// BenchmarkRun scans 100,000 stored events (10 batches) per op:
// decompress, decode, analyze. ns/op ÷ 100,000 is the cost per event.
func BenchmarkRun(b *testing.B) {
	st := memStore{}
	var nd []byte
	for i := 0; i < 100_000; i++ {
		unit := fmt.Sprintf("user-%07d", i/3)
		ts := start.Add(time.Duration(i) * time.Second)
		e := expo(unit, fmt.Sprint("x", i), def.Variants()[(i/3)%3], ts)
		if i%10 == 9 {
			e = conv(unit, fmt.Sprint("c", i), "purchase", ts)
		}
		e.Received = ts
		nd = append(e.AppendJSON(nd), '\n')
		if i%10_000 == 9_999 {
			st[eventlog.BatchKey("shop", "production", eventlog.KindEvents, start, "w", uint64(i))] = eventlog.Compress(nd)
			nd = nd[:0]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := Run(context.Background(), st, "shop", "production", def, nil, end, nil)
		if err != nil || r.Scanned.Events != 100_000 {
			b.Fatal(err, r.Scanned)
		}
	}
}
