package app

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

type writes struct {
	mu    sync.Mutex
	calls []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func (w *writes) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// TestLogBuffer: lines are batched into few writes, each write holds
// whole lines only, everything arrives within the flush period, and a
// line larger than the buffer goes out at once.
func TestLogBuffer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &writes{}
	b := newLogBuffer(ctx, w)
	line := strings.Repeat("x", 99) + "\n"
	const n = 2000 // 200 000 bytes: the buffer fills about three times
	for i := 0; i < n; i++ {
		b.Write([]byte(line))
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(strings.Join(w.snapshot(), ""), "\n") < n {
		if time.Now().After(deadline) {
			t.Fatalf("not all lines were written within the flush period")
		}
		time.Sleep(10 * time.Millisecond)
	}
	calls := w.snapshot()
	if len(calls) > 10 {
		t.Errorf("%d writes for %d lines", len(calls), n)
	}
	for _, c := range calls {
		if len(c)%len(line) != 0 || !strings.HasSuffix(c, "\n") {
			t.Fatalf("a write of %d bytes splits a line", len(c))
		}
	}
	big := bytes.Repeat([]byte("y"), logBufferSize+1)
	b.Write(big)
	if got := w.snapshot(); got[len(got)-1] != string(big) {
		t.Fatalf("a line over the buffer size was held back")
	}
	b.Write([]byte("last\n"))
	b.Flush()
	if got := w.snapshot(); got[len(got)-1] != "last\n" {
		t.Fatalf("Flush left %q", got[len(got)-1])
	}
}
