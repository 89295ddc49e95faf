package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/store"
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

// AnalyticsJSON is the --json output of `edgeflag analytics`.
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
	if *storeURL == "" || *project == "" || *envName == "" {
		return e.usageErr(fs, "--store, --project and --env are required")
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
	blob, err := store.Open(ctx, *storeURL)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	type key struct {
		hour                  time.Time
		flag, variant, reason string
	}
	sums := map[key]uint64{}
	var bad []string
	s := &eventlog.Scan{Store: blob, Project: *project, Env: *envName, Kind: eventlog.KindAnalytics, From: from, To: now,
		Bad: func(k string, line int, err error) {
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("%s:%d: %v", k, line, err))
			}
		}}
	stats, err := s.Summaries(ctx, func(_ string, sm *eventlog.Summary) error {
		if *flagKey != "" && sm.Flag != *flagKey {
			return nil
		}
		sums[key{sm.Hour, sm.Flag, sm.Variant, sm.Reason}] += sm.Count
		return nil
	})
	if err != nil {
		return fmt.Errorf("read analytics: %w", err)
	}
	for _, b := range bad {
		fmt.Fprintf(e.Stderr, "edgeflag: analytics: skipped %s\n", b)
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.hour.Equal(b.hour) {
			return a.hour.Before(b.hour)
		}
		if a.flag != b.flag {
			return a.flag < b.flag
		}
		if a.variant != b.variant {
			return a.variant < b.variant
		}
		return a.reason < b.reason
	})
	out := AnalyticsJSON{Project: *project, Environment: *envName, Since: eventlog.HourOf(from).Format(time.RFC3339), Until: now.UTC().Format(time.RFC3339),
		Flag: *flagKey, Rows: []AnalyticsRow{}, Unreadable: stats.BadLines + stats.BadBatches}
	for _, k := range keys {
		out.Rows = append(out.Rows, AnalyticsRow{Hour: k.hour.Format(time.RFC3339), Flag: k.flag, Variant: k.variant, Reason: k.reason, Count: sums[k]})
		out.Total += sums[k]
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := e.Stdout
	fmt.Fprintf(w, "evaluations in %s/%s from %s to %s (UTC hours)\n", out.Project, out.Environment, out.Since, out.Until)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "hour\tflag\tvariant\treason\tcount")
	for _, r := range out.Rows {
		v := r.Variant
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", strings.TrimSuffix(r.Hour, ":00:00Z")+"h", r.Flag, v, r.Reason, r.Count)
	}
	tw.Flush()
	fmt.Fprintf(w, "total %s evaluations in %d row(s)\n", strconv.FormatUint(out.Total, 10), len(out.Rows))
	if out.Unreadable > 0 {
		fmt.Fprintf(w, "warning: %d stored line(s) or batch(es) could not be read and were skipped\n", out.Unreadable)
	}
	return nil
}
