package eventlog

import (
	"context"
	"fmt"
	"time"
)

// Store is the read side of a store (publisher/store's file and S3
// stores).
type Store interface {
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
	List(ctx context.Context, prefix string) ([]string, error)
}

// DefaultPrefetch is how many batches a Scan fetches ahead by default.
const DefaultPrefetch = 4

// Scan reads the batches of one kind of an environment whose partition
// hour h satisfies From <= h < To, in key order (hour, writer, sequence),
// streaming: at most Prefetch+2 compressed batches are in memory at once.
type Scan struct {
	Store        Store
	Project, Env string
	Kind         Kind
	// From and To bound the partition hours (truncated to hours; To is
	// exclusive).
	From, To time.Time
	// Prefetch is how many batches are fetched ahead (0: DefaultPrefetch).
	Prefetch int
	// Bad, when set, receives every line (line > 0) or whole batch
	// (line 0) that cannot be read; the scan goes on. Keys under the
	// folder that are not batches are reported the same way.
	Bad func(key string, line int, err error)
}

// Stats counts what a scan read.
type Stats struct {
	Batches, BadBatches int
	Lines, BadLines     int
	CompressedBytes     int64
}

// Lines calls fn with each non-empty line of every batch (data is valid
// only during the call). An error from fn stops the scan and is returned.
func (s *Scan) Lines(ctx context.Context, fn func(key string, line int, data []byte) error) (Stats, error) {
	var st Stats
	if err := CheckEnv(s.Project, s.Env); err != nil {
		return st, fmt.Errorf("scan %s: %w", s.Kind, err)
	}
	if s.Kind != KindEvents && s.Kind != KindAnalytics {
		return st, fmt.Errorf("scan: unknown kind %q", s.Kind)
	}
	from, to := HourOf(s.From), HourOf(s.To)
	if s.To.After(to) {
		to = to.Add(time.Hour)
	}
	keys, err := s.keys(ctx, from, to, &st)
	if err != nil {
		return st, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		key  string
		data []byte
		err  error
	}
	n := s.Prefetch
	if n <= 0 {
		n = DefaultPrefetch
	}
	futures := make(chan chan fetched, n)
	go func() {
		defer close(futures)
		for _, k := range keys {
			ch := make(chan fetched, 1)
			select {
			case futures <- ch:
			case <-ctx.Done():
				return
			}
			go func(k string) {
				data, _, err := s.Store.Get(ctx, k)
				ch <- fetched{k, data, err}
			}(k)
		}
	}()
	lr := NewLineReader()
	for fut := range futures {
		var f fetched
		select {
		case f = <-fut:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if f.err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			return st, fmt.Errorf("scan %s: %w", s.Kind, f.err)
		}
		st.Batches++
		st.CompressedBytes += int64(len(f.data))
		if err := lr.Reset(f.data); err != nil {
			s.bad(&st, f.key, 0, err)
			continue
		}
		for {
			line, no, ok := lr.Next()
			if !ok {
				break
			}
			st.Lines++
			if err := fn(f.key, no, line); err != nil {
				return st, err
			}
		}
		if err := lr.Err(); err != nil {
			s.bad(&st, f.key, 0, err)
		}
	}
	return st, ctx.Err()
}

func (s *Scan) bad(st *Stats, key string, line int, err error) {
	if line == 0 {
		st.BadBatches++
	} else {
		st.BadLines++
	}
	if s.Bad != nil {
		s.Bad(key, line, err)
	}
}

// keys lists the batch keys of the hours [from, to), one day folder at a
// time.
func (s *Scan) keys(ctx context.Context, from, to time.Time, st *Stats) ([]string, error) {
	var keys []string
	if !from.Before(to) {
		return nil, nil
	}
	for day := from.Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		ks, err := s.Store.List(ctx, DayPrefix(s.Project, s.Env, s.Kind, day))
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", s.Kind, err)
		}
		for _, k := range ks {
			b, err := ParseBatchKey(k)
			if err == nil && (b.Project != s.Project || b.Env != s.Env || b.Kind != s.Kind) {
				err = fmt.Errorf("%w: %s is outside %s", ErrNotBatch, k, Prefix(s.Project, s.Env, s.Kind))
			}
			if err != nil {
				s.bad(st, k, 0, err)
				continue
			}
			if b.Hour.Before(from) || !b.Hour.Before(to) {
				continue
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Events decodes every event line (DecodeLine); lines that do not decode
// go to Bad. fn's *Event is reused between calls.
func (s *Scan) Events(ctx context.Context, opt DecodeOptions, fn func(key string, e *Event) error) (Stats, error) {
	var e Event
	var dec Decoder
	var bad int
	st, err := s.Lines(ctx, func(key string, line int, data []byte) error {
		if err := dec.Decode(data, &e, opt); err != nil {
			bad++
			if s.Bad != nil {
				s.Bad(key, line, err)
			}
			return nil
		}
		return fn(key, &e)
	})
	st.BadLines += bad
	return st, err
}

// Summaries decodes every summary line (DecodeSummaryLine).
func (s *Scan) Summaries(ctx context.Context, fn func(key string, sm *Summary) error) (Stats, error) {
	var sm Summary
	var bad int
	st, err := s.Lines(ctx, func(key string, line int, data []byte) error {
		if err := DecodeSummaryLine(data, &sm); err != nil {
			bad++
			if s.Bad != nil {
				s.Bad(key, line, err)
			}
			return nil
		}
		return fn(key, &sm)
	})
	st.BadLines += bad
	return st, err
}

// CheckEnv validates the project and environment names of a batch
// folder by the one naming rule (publisher/names): never ".", ".." or
// hidden.
func CheckEnv(project, env string) error {
	if err := checkName("project", project); err != nil {
		return err
	}
	return checkName("environment", env)
}
