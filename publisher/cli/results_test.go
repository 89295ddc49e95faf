package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

var checkoutColor = experiment.Definition{Key: "checkout-color", Flag: "checkout-button-color", Environment: "production",
	Control: "control", Treatments: []string{"green", "orange"}, Conversions: []string{"purchase"},
	Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 29, 0, 0, 0, 0, time.UTC), MinimumSample: 100}

// writeBatch stores events as one batch, as edgefn's writer would.
func writeBatch(t *testing.T, bl blob.Blob, kind eventlog.Kind, hour time.Time, writer string, seq uint64, lines [][]byte) {
	t.Helper()
	var nd []byte
	for _, l := range lines {
		nd = append(append(nd, l...), '\n')
	}
	if err := bl.Put(context.Background(), eventlog.BatchKey("shop", "production", kind, hour, writer, seq), eventlog.Compress(nd), blob.IfNoneMatch()); err != nil {
		t.Fatal(err)
	}
}

// wilsonByRoots solves (p̂ − p)² = z²p(1−p)/n for p as a quadratic,
// a p² + b p + c = 0, another route to the Wilson bounds.
func wilsonByRoots(x, n int) (float64, float64) {
	z2 := experiment.Z95 * experiment.Z95
	ph, nf := float64(x)/float64(n), float64(n)
	a := 1 + z2/nf
	b := -(2*ph + z2/nf)
	c := ph * ph
	disc := math.Sqrt(b*b - 4*a*c)
	return (-b - disc) / (2 * a), (-b + disc) / (2 * a)
}

func TestResultsAndAnalytics(t *testing.T) {
	dir := copyExamples(t)
	// The example's experiment, moved to April (the tests' clock is May 1).
	edit(t, filepath.Join(dir, "experiments.yaml"), "start: 2026-12-01T00:00:00Z", "start: 2026-04-01T00:00:00Z")
	edit(t, filepath.Join(dir, "experiments.yaml"), "end: 2027-01-01T00:00:00Z", "end: 2026-04-29T00:00:00Z")
	edit(t, filepath.Join(dir, "experiments.yaml"), "minimumSample: 1000", "minimumSample: 100")
	key := keygen(t)
	storeDir := t.TempDir()
	storeURL := "file://" + storeDir
	mustCode(t, run(t, "publish", dir, "--env", "production", "--key", key, "--store", storeURL, "--reason", "r"), 0)
	o := run(t, "results", "no-such-test", "--store", storeURL, "--project", "shop", "--env", "production")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, `no experiment "no-such-test"`) {
		t.Fatal(o.stderr)
	}
	// Version 2 no longer declares it: results finds it in version 1.
	if err := os.Remove(filepath.Join(dir, "experiments.yaml")); err != nil {
		t.Fatal(err)
	}
	mustCode(t, run(t, "publish", dir, "--env", "production", "--key", key, "--store", storeURL, "--reason", "r"), 0)

	bl, err := store.Open(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	// Units: control 400 (40 convert), green 200 (30), orange 200 (16).
	// Plus noise the analysis must see through.
	type plan struct {
		variant        string
		units, convert int
	}
	plans := []plan{{"control", 400, 40}, {"green", 200, 30}, {"orange", 200, 16}}
	day := checkoutColor.Start.Add(26 * time.Hour)
	var lines [][]byte
	add := func(e eventlog.Event) {
		e.Received, e.Source = e.Timestamp, eventlog.SourceTrack
		lines = append(lines, e.AppendJSON(nil))
	}
	id := 0
	next := func() string { id++; return fmt.Sprint("e", id) }
	for _, pl := range plans {
		for u := 0; u < pl.units; u++ {
			unit := fmt.Sprintf("%s-%d", pl.variant, u)
			ts := day.Add(time.Duration(u) * time.Minute)
			add(eventlog.Event{ID: next(), Type: "exposure", FlagKey: checkoutColor.Flag, Variant: pl.variant, Timestamp: ts, Unit: unit})
			if u < pl.convert {
				add(eventlog.Event{ID: next(), Type: "conversion", Name: "purchase", Timestamp: ts.Add(time.Hour), Unit: unit})
			}
		}
	}
	dup := lines[5]
	add(eventlog.Event{ID: next(), Type: "conversion", Name: "purchase", Timestamp: day.Add(-time.Hour), Unit: "control-399"}) // before exposure
	add(eventlog.Event{ID: next(), Type: "exposure", FlagKey: checkoutColor.Flag, Variant: "green", Timestamp: day.Add(5 * time.Hour), Unit: "control-1"})
	add(eventlog.Event{ID: next(), Type: "exposure", FlagKey: checkoutColor.Flag, Variant: "green", Timestamp: checkoutColor.End, Unit: "late"})
	add(eventlog.Event{ID: next(), Type: "exposure", FlagKey: "new-checkout", Variant: "on", Timestamp: day, Unit: "control-2"})
	half := len(lines) / 2
	writeBatch(t, bl, eventlog.KindEvents, day, "w1", 1, lines[:half])
	writeBatch(t, bl, eventlog.KindEvents, day.Add(time.Hour), "w2", 7, append(lines[half:], dup))
	writeBatch(t, bl, eventlog.KindEvents, day.Add(2*time.Hour), "w2", 8, [][]byte{[]byte(`{"not":"an event"}`)})

	now := "2026-05-01T00:00:00Z"
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	o = run(t, "results", "checkout-color", "--store", storeURL, "--project", "shop", "--env", "production", "--json", "--html", htmlPath, "--now", now)
	mustCode(t, o, 0)
	var r experiment.Results
	if err := json.Unmarshal([]byte(o.stdout), &r); err != nil {
		t.Fatal(err, o.stdout)
	}
	if !strings.Contains(o.stderr, "experiment read from version 1, NOT verified") || !strings.Contains(o.stderr, "skipped shop/production/events/") {
		t.Fatalf("stderr %s", o.stderr)
	}
	for i, pl := range plans {
		v := r.Variants[i]
		if v.Variant != pl.variant || v.Exposed != pl.units || v.Converted != pl.convert {
			t.Fatalf("%s: %d/%d, want %d/%d", v.Variant, v.Exposed, v.Converted, pl.units, pl.convert)
		}
		lo, hi := wilsonByRoots(pl.convert, pl.units)
		if math.Abs(v.RateCI[0]-lo) > 1e-12 || math.Abs(v.RateCI[1]-hi) > 1e-12 || v.Rate != float64(pl.convert)/float64(pl.units) {
			t.Fatalf("%s: rate %v %v, roots %v %v", v.Variant, v.Rate, v.RateCI, lo, hi)
		}
		if i == 0 {
			if v.Lift != nil || v.PValue != nil {
				t.Fatal("control has a lift")
			}
			continue
		}
		// p-value: Pearson's chi-square of the 2×2 table, 1 df.
		a, b := float64(pl.convert), float64(pl.units-pl.convert)
		c, d := 40.0, 360.0
		n := a + b + c + d
		x2 := n * (a*d - b*c) * (a*d - b*c) / ((a + b) * (c + d) * (a + c) * (b + d))
		if math.Abs(*v.PValue-math.Erfc(math.Sqrt(x2/2))) > 1e-12 {
			t.Fatalf("%s p %v, 2x2 chi-square gives %v", v.Variant, *v.PValue, math.Erfc(math.Sqrt(x2/2)))
		}
		if math.Abs(*v.Lift-(float64(pl.convert)/float64(pl.units)-0.1)) > 1e-15 || *v.RelativeLift != (float64(pl.convert)/float64(pl.units))/0.1-1 {
			t.Fatalf("%s lift %v rel %v", v.Variant, *v.Lift, *v.RelativeLift)
		}
	}
	// SRM: 400/200/200 against 50/25/25 fits exactly: X² = 0, p = 1. With
	// df = 2, p = exp(−X²/2).
	if r.SRMPValue == nil || *r.SRMPValue != 1 || r.SRM || *r.SRMChiSquare != 0 {
		t.Fatalf("srm %v %v", r.SRMPValue, r.SRMChiSquare)
	}
	if q := r.Quality; q.Duplicates != 1 || q.OutsideWindow != 1 || q.MultipleVariants != 1 || q.Unreadable != 1 || q.OtherVariants != 0 {
		t.Fatalf("quality %+v", q)
	}
	if r.Status != "ended" || !r.SampleReached || r.Project != "shop" || r.Scanned.Batches != 3 || len(r.Daily) != 28 || r.Daily[1].Exposed[0] != 400 {
		t.Fatalf("%+v", r)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(page), `<svg id="rates"`) || !strings.Contains(string(page), `<svg id="cumulative"`) {
		t.Fatalf("html: %v", err)
	}
	// The text report.
	o = run(t, "results", "checkout-color", "--store", storeURL, "--project", "shop", "--env", "production", "--now", now, "--jwks", key+".jwks.json")
	mustCode(t, o, 0)
	for _, want := range []string{"experiment checkout-color: flag checkout-button-color in shop/production, ended", "control", "10.00%",
		"sample ratio: consistent with the split, p = 1", "1 duplicates", "warning: 1 unit(s) were exposed to more than one variant"} {
		if !strings.Contains(o.stdout, want) {
			t.Fatalf("missing %q in\n%s", want, o.stdout)
		}
	}
	if strings.Contains(o.stderr, "NOT verified") {
		t.Fatal(o.stderr)
	}
	// A JWKS that did not sign it refuses.
	other := keygen(t)
	o = run(t, "results", "checkout-color", "--store", storeURL, "--project", "shop", "--env", "production", "--jwks", other+".jwks.json")
	if o.code == 0 {
		t.Fatal("verified against a foreign key")
	}

	// Analytics: two writers counted the same hours.
	h := time.Date(2026, 4, 30, 22, 0, 0, 0, time.UTC)
	sum := func(hour time.Time, flag, variant, reason string, n uint64) []byte {
		s := eventlog.Summary{Hour: hour, Flag: flag, Variant: variant, Reason: reason, Count: n}
		return s.AppendJSON(nil)
	}
	writeBatch(t, bl, eventlog.KindAnalytics, h, "w1", 1, [][]byte{sum(h, "checkout-button-color", "green", "SPLIT", 5), sum(h, "new-checkout", "on", "TARGETING_MATCH", 2)})
	writeBatch(t, bl, eventlog.KindAnalytics, h, "w2", 1, [][]byte{sum(h, "checkout-button-color", "green", "SPLIT", 7)})
	writeBatch(t, bl, eventlog.KindAnalytics, h.Add(time.Hour), "w1", 2, [][]byte{sum(h.Add(time.Hour), "checkout-button-color", "control", "SPLIT", 3)})
	writeBatch(t, bl, eventlog.KindAnalytics, h.Add(-48*time.Hour), "w1", 3, [][]byte{sum(h.Add(-48*time.Hour), "checkout-button-color", "control", "SPLIT", 100)}) // before --since
	o = run(t, "analytics", "--store", storeURL, "--project", "shop", "--env", "production", "--since", "24h", "--now", now, "--json")
	mustCode(t, o, 0)
	var an AnalyticsJSON
	if err := json.Unmarshal([]byte(o.stdout), &an); err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, row := range an.Rows {
		got += fmt.Sprintf("%s %s %s %s %d; ", row.Hour[11:13], row.Flag, row.Variant, row.Reason, row.Count)
	}
	if got != "22 checkout-button-color green SPLIT 12; 22 new-checkout on TARGETING_MATCH 2; 23 checkout-button-color control SPLIT 3; " || an.Total != 17 {
		t.Fatalf("rows %s total %d", got, an.Total)
	}
	o = run(t, "analytics", "--store", storeURL, "--project", "shop", "--env", "production", "--since", "2026-04-30T23:00:00Z", "--now", now, "--flag", "checkout-button-color")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "2026-04-30T23h  checkout-button-color  control  SPLIT   3") || !strings.Contains(o.stdout, "total 3 evaluations in 1 row(s)") {
		t.Fatalf("text:\n%s", o.stdout)
	}
	mustCode(t, run(t, "analytics", "--store", storeURL, "--project", "shop", "--env", "production", "--since", "yesterday"), 1)
	mustCode(t, run(t, "results", "--store", storeURL, "--project", "shop", "--env", "production"), 1)
}
