package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// AnalyticsRow is one line of `edgeflag analytics`: the evaluations of a
// flag that served a variant with a reason during one UTC hour, summed
// over every edgefn that counted them.
type AnalyticsRow struct {
	Hour    string `json:"hour"`
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
	Reason  string `json:"reason"`
	Count   uint64 `json:"count"`
}

// AnalyticsJSON is the --json output of `edgeflag analytics` (written
// streaming, in this member order).
type AnalyticsJSON struct {
	Project     string         `json:"project"`
	Environment string         `json:"environment"`
	Since       string         `json:"since"`
	Until       string         `json:"until"`
	Flag        string         `json:"flag,omitempty"`
	Rows        []AnalyticsRow `json:"rows"`
	Total       uint64         `json:"total"`
	Unreadable  int            `json:"unreadable"`
}

// parseSince reads --since: an RFC 3339 time, or a duration before now
// ("24h", "90m").
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, invalidf("parse --since: %q is neither an RFC 3339 time nor a positive duration (24h)", s)
	}
	return now.Add(-d), nil
}

func (e *Env) analytics(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	storeURL := fs.String("store", "", "store `URL` (file://PATH or s3://bucket/prefix)")
	project := fs.String("project", "", "project (`P`)")
	envName := fs.String("env", "", "environment (`ENV`)")
	flagKey := fs.String("flag", "", "only this flag (`KEY`)")
	since := fs.String("since", "24h", "from this RFC 3339 time, or this long ago (`T`)")
	asJSON := fs.Bool("json", false, "print JSON")
	nowFlag := fs.String("now", "", "count up to this RFC 3339 time (default: now)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return e.usageErr(fs, "unexpected argument %q", pos[0])
	}
	if err := e.requireTarget(fs, *storeURL, *project, *envName); err != nil {
		return err
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
	}
	from, err := parseSince(*since, now)
	if err != nil {
		return err
	}
	if !from.Before(now) {
		return invalidf("--since %s is not before %s", from.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	blob, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	out := AnalyticsJSON{Project: *project, Environment: *envName, Since: eventlog.HourOf(from).Format(time.RFC3339), Until: now.UTC().Format(time.RFC3339), Flag: *flagKey}
	var emit func(AnalyticsRow) error
	var finish func(total uint64, rows, unreadable int) error
	if *asJSON {
		emit, finish = jsonRows(e.Stdout, out)
	} else {
		emit, finish = textRows(e.Stdout, out)
	}
	// Batches come in partition order and a batch's records all belong to
	// its partition hour, so one hour's sums are complete when the scan
	// moves on: memory holds one hour of counters, whatever the range.
	type key struct{ flag, variant, reason string }
	sums := map[key]uint64{}
	var hour time.Time
	var total uint64
	rows := 0
	flushHour := func() error {
		hs := make([]eventlog.Summary, 0, len(sums))
		for k, n := range sums {
			hs = append(hs, eventlog.Summary{Hour: hour, Flag: k.flag, Variant: k.variant, Reason: k.reason, Count: n})
		}
		slices.SortFunc(hs, eventlog.CompareSummaries)
		for _, sm := range hs {
			if err := emit(AnalyticsRow{Hour: hour.Format(time.RFC3339), Flag: sm.Flag, Variant: sm.Variant, Reason: sm.Reason, Count: sm.Count}); err != nil {
				return err
			}
			total += sm.Count
			rows++
		}
		clear(sums)
		return nil
	}
	var bad []string
	misplaced := 0
	s := &eventlog.Scan{Store: blob, Project: *project, Env: *envName, Kind: eventlog.KindAnalytics, From: from, To: now,
		Bad: func(k string, line int, err error) {
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("%s:%d: %v", k, line, err))
			}
		}}
	stats, err := s.Summaries(ctx, func(k string, sm *eventlog.Summary) error {
		if b, err := eventlog.ParseBatchKey(k); err != nil || !b.Hour.Equal(sm.Hour) {
			misplaced++
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("%s: a record of hour %s outside its partition", k, sm.Hour.Format(time.RFC3339)))
			}
			return nil
		}
		if !sm.Hour.Equal(hour) {
			if err := flushHour(); err != nil {
				return err
			}
			hour = sm.Hour
		}
		if *flagKey != "" && sm.Flag != *flagKey {
			return nil
		}
		sums[key{sm.Flag, sm.Variant, sm.Reason}] += sm.Count
		return nil
	})
	if err == nil {
		err = flushHour()
	}
	if err != nil {
		return fmt.Errorf("read analytics: %w", err)
	}
	for _, b := range bad {
		fmt.Fprintf(e.Stderr, "edgeflag: analytics: skipped %s\n", b)
	}
	return finish(total, rows, stats.BadLines+stats.BadBatches+misplaced)
}

// jsonRows streams the --json output: the AnalyticsJSON object, its rows
// written as they come.
func jsonRows(w io.Writer, head AnalyticsJSON) (emit func(AnalyticsRow) error, finish func(uint64, int, int) error) {
	bw := bufio.NewWriter(w)
	first := true
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	fmt.Fprintf(bw, "{\n  \"project\": %s,\n  \"environment\": %s,\n  \"since\": %s,\n  \"until\": %s,\n", str(head.Project), str(head.Environment), str(head.Since), str(head.Until))
	if head.Flag != "" {
		fmt.Fprintf(bw, "  \"flag\": %s,\n", str(head.Flag))
	}
	bw.WriteString("  \"rows\": [")
	emit = func(r AnalyticsRow) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if first {
			bw.WriteString("\n    ")
			first = false
		} else {
			bw.WriteString(",\n    ")
		}
		_, err = bw.Write(b)
		return err
	}
	finish = func(total uint64, rows, unreadable int) error {
		if !first {
			bw.WriteString("\n  ")
		}
		fmt.Fprintf(bw, "],\n  \"total\": %d,\n  \"unreadable\": %d\n}\n", total, unreadable)
		return bw.Flush()
	}
	return emit, finish
}

// textRows streams the table, aligned within each hour.
func textRows(w io.Writer, head AnalyticsJSON) (emit func(AnalyticsRow) error, finish func(uint64, int, int) error) {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "evaluations in %s/%s from %s to %s (UTC hours)\n", head.Project, head.Environment, head.Since, head.Until)
	tw := tabwriter.NewWriter(bw, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "hour\tflag\tvariant\treason\tcount")
	last := ""
	emit = func(r AnalyticsRow) error {
		if r.Hour != last && last != "" {
			tw.Flush()
		}
		last = r.Hour
		v := r.Variant
		if v == "" {
			v = "-"
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", strings.TrimSuffix(r.Hour, ":00:00Z")+"h", r.Flag, v, r.Reason, r.Count)
		return err
	}
	finish = func(total uint64, rows, unreadable int) error {
		tw.Flush()
		fmt.Fprintf(bw, "total %s evaluations in %d row(s)\n", strconv.FormatUint(total, 10), rows)
		if unreadable > 0 {
			fmt.Fprintf(bw, "warning: %d stored line(s) or batch(es) could not be read and were skipped\n", unreadable)
		}
		return bw.Flush()
	}
	return emit, finish
}
