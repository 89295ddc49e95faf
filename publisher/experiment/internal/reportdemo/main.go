// Command reportdemo writes sample `edgeflag results --html` pages from
// synthetic events, for the headless-Chromium check of the report
// (publisher/experiment/e2e): -out DIR gets ok.html (a clean experiment
// with a clear winner) and srm.html (a sample-ratio mismatch).
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
)

func main() {
	out := flag.String("out", "", "directory for the pages")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "reportdemo: -out DIR is required")
		os.Exit(1)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "reportdemo:", err)
		os.Exit(2)
	}
}

func run(dir string) error {
	d := experiment.Definition{Key: "checkout-color", Flag: "checkout-button-color", Environment: "production",
		Control: "control", Treatments: []string{"green", "orange"}, Conversions: []string{"purchase"},
		Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), MinimumSample: 1000}
	for _, page := range []struct {
		name  string
		split []float64 // actual assignment shares (the split says 50/25/25)
	}{{"ok.html", []float64{0.5, 0.25, 0.25}}, {"srm.html", []float64{0.56, 0.22, 0.22}}} {
		a, err := experiment.NewAnalyzer(d, []float64{0.5, 0.25, 0.25})
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(42, 7))
		conv := []float64{0.10, 0.12, 0.095}
		for u := 0; u < 12000; u++ {
			r, vi, acc := rng.Float64(), 0, page.split[0]
			for r > acc && vi < 2 {
				vi++
				acc += page.split[vi]
			}
			ts := d.Start.Add(time.Duration(rng.Int64N(int64(13 * 24 * time.Hour))))
			unit := fmt.Sprint("u", u)
			e := eventlog.Event{ID: unit + "x", Type: eventlog.TypeExposure, FlagKey: d.Flag, Variant: d.Variants()[vi], Timestamp: ts, Unit: unit}
			a.Add(&e)
			if rng.Float64() < conv[vi] {
				c := eventlog.Event{ID: unit + "c", Type: eventlog.TypeConversion, Name: "purchase", Timestamp: ts.Add(time.Hour), Unit: unit}
				a.Add(&c)
			}
		}
		r := a.Result(d.End)
		r.Project = "shop"
		f, err := os.Create(filepath.Join(dir, page.name))
		if err != nil {
			return err
		}
		if err := experiment.WriteHTML(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
