package app

import (
	"context"
	"io"
	"sync"
	"time"
)

// logBuffer batches `edgefn serve`'s log lines: one write per request
// line was a quarter of a request's CPU under load (a syscall each).
// Lines go out whole, at most flushEvery after they were logged, when the
// buffer fills, and at shutdown (Flush). The Lambda function writes
// unbuffered: a frozen instance must not hold lines back.
type logBuffer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

const (
	logBufferSize = 64 << 10
	flushEvery    = 100 * time.Millisecond
)

// newLogBuffer starts the periodic flush; it stops with ctx.
func newLogBuffer(ctx context.Context, w io.Writer) *logBuffer {
	b := &logBuffer{w: w, buf: make([]byte, 0, logBufferSize)}
	go func() {
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.Flush()
			}
		}
	}()
	return b
}

// Write takes one log record (slog writes each with one call).
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		b.flushLocked()
	}
	if len(p) > cap(b.buf) {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.w.Write(b.buf) // a log that cannot be written has nowhere to say so
	b.buf = b.buf[:0]
}
