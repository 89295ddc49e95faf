package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// Partitions is the range of partition hours that can hold the events of
// d: timestamps in [Start, End) are received from Start − MaxFuture to
// End + MaxPast, and never after now.
func Partitions(d *Definition, now time.Time) (from, to time.Time) {
	from = d.Start.Add(-eventlog.MaxFuture)
	to = d.End.Add(eventlog.MaxPast)
	if lim := now.Add(time.Hour); to.After(lim) {
		to = lim
	}
	return from, to
}

// Run scans the stored events of project/env for experiment d and
// returns its results at now. bad, when set, receives what could not be
// read (the scan goes on; the results count it).
func Run(ctx context.Context, st eventlog.Store, project, env string, d Definition, shares []float64, now time.Time,
	bad func(key string, line int, err error)) (*Results, error) {
	a, err := NewAnalyzer(d, shares)
	if err != nil {
		return nil, err
	}
	from, to := Partitions(&d, now)
	s := &eventlog.Scan{Store: st, Project: project, Env: env, Kind: eventlog.KindEvents, From: from, To: to, Bad: bad}
	events := 0
	stats, err := s.Events(ctx, eventlog.DecodeOptions{SkipAttributes: true}, func(_ string, e *eventlog.Event) error {
		events++
		a.Add(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", d.Key, err)
	}
	a.Unreadable(stats.BadLines + stats.BadBatches)
	r := a.Result(now)
	r.Project = project
	r.Scanned = Scanned{Batches: stats.Batches, Events: events, From: eventlog.HourOf(from).Format(time.RFC3339), To: to.UTC().Format(time.RFC3339)}
	return r, nil
}
