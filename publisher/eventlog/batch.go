package eventlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Limits of one batch, enforced by readers (the writer stays well below).
const (
	// MaxBatchCompressed is the largest batch object a reader loads.
	MaxBatchCompressed = 64 << 20
	// MaxBatchDecompressed is the most bytes a reader decompresses from
	// one batch: a batch that expands further is refused, not read on.
	MaxBatchDecompressed = 256 << 20
	// maxWindow bounds the zstd window a reader allocates.
	maxWindow = 8 << 20
)

var (
	encOnce sync.Once
	enc     *zstd.Encoder
)

// Compress returns the zstd frame of an NDJSON batch. Safe for concurrent
// use.
func Compress(ndjson []byte) []byte {
	encOnce.Do(func() {
		// Window and level chosen for small, fast batches; any zstd reader
		// (Athena, DuckDB, the zstd CLI) reads them.
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(maxWindow/2), zstd.WithZeroFrames(true))
		if err != nil {
			panic("eventlog: zstd encoder: " + err.Error()) // static options: cannot fail
		}
		enc = e
	})
	return enc.EncodeAll(ndjson, make([]byte, 0, len(ndjson)/4+64))
}

// ErrBatchTooLarge reports a batch over MaxBatchCompressed or
// MaxBatchDecompressed.
var ErrBatchTooLarge = errors.New("batch too large")

// LineReader reads the lines of one compressed batch, streaming: memory
// stays bounded by MaxLine and the zstd window whatever the batch size.
// Reuse one LineReader for many batches (Reset).
type LineReader struct {
	max   int64 // decompressed bytes allowed per batch
	dec   *zstd.Decoder
	lim   limitReader
	sc    *bufio.Scanner
	line  int
	err   error
	ready bool
}

// NewLineReader returns a reader; call Reset before reading.
func NewLineReader() *LineReader {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow),
		zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(MaxBatchDecompressed))
	if err != nil {
		panic("eventlog: zstd decoder: " + err.Error()) // static options: cannot fail
	}
	return &LineReader{dec: d, max: MaxBatchDecompressed}
}

// Reset starts reading data, a compressed batch.
func (r *LineReader) Reset(data []byte) error {
	r.line, r.err, r.ready = 0, nil, false
	if len(data) > MaxBatchCompressed {
		return fmt.Errorf("read batch: %d bytes: %w", len(data), ErrBatchTooLarge)
	}
	if err := r.dec.Reset(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("read batch: %w", err)
	}
	r.lim = limitReader{r: r.dec, left: r.max + 1}
	r.sc = bufio.NewScanner(&r.lim)
	r.sc.Buffer(make([]byte, 0, 4096), MaxLine+2) // the larger of cap and max bounds a line
	r.ready = true
	return nil
}

// Next returns the next non-empty line (valid until the next call), its
// 1-based line number, or ok=false at the end or on an error (Err).
func (r *LineReader) Next() (line []byte, n int, ok bool) {
	if !r.ready {
		return nil, 0, false
	}
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return b, r.line, true
	}
	r.ready = false
	if err := r.sc.Err(); err != nil {
		switch {
		case errors.Is(err, bufio.ErrTooLong):
			r.err = fmt.Errorf("read batch: line %d longer than %d bytes", r.line+1, MaxLine)
		case r.lim.left <= 0:
			r.err = fmt.Errorf("read batch: more than %d bytes decompressed: %w", r.max, ErrBatchTooLarge)
		default:
			r.err = fmt.Errorf("read batch: %w", err)
		}
	}
	return nil, 0, false
}

// Err is the error that ended reading, if any.
func (r *LineReader) Err() error { return r.err }

// limitReader fails once left bytes were read (set left to the limit + 1).
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, ErrBatchTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
