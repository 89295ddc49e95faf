// Command genevents fills a file store with synthetic events for the
// experiment checkout-color of examples/shop, to measure `edgeflag results`
// and `edgeflag analytics` on large data (docs/performance.md):
//
//	go run ./publisher/experiment/internal/genevents --store DIR --key KEY --events 1000000
//
// It publishes examples/shop's production server bundle with the experiment
// attached (signed with KEY, a key from `edgeflag keygen`) unless the
// environment already has a version, then writes the events as zstd NDJSON
// batches of 10,000 in the store layout edgefn uses, and --summaries
// evaluation-count records.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

// Def is the experiment the data is for.
var Def = experiment.Definition{Key: "checkout-color", Flag: "checkout-button-color", Environment: "production",
	Control: "control", Treatments: []string{"green", "orange"}, Conversions: []string{"purchase"},
	Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), MinimumSample: 1000}

func main() {
	dir := flag.String("store", "", "file store `DIR`")
	keyPath := flag.String("key", "", "signing `KEY` for the published bundle")
	n := flag.Int("events", 1_000_000, "number of events")
	sums := flag.Int("summaries", 0, "number of evaluation-count records")
	units := flag.Int("units", 0, "cycle through this many units (0: a new unit after each one's events)")
	noise := flag.Bool("noise", false, "add what real data has: duplicates, events outside the window, units seeing two variants, ties, conversions before exposure")
	examples := flag.String("config", "examples/shop", "flags `DIR` to publish")
	flag.Parse()
	if *dir == "" || *keyPath == "" {
		fmt.Fprintln(os.Stderr, "genevents: --store and --key are required")
		os.Exit(1)
	}
	if err := run(*dir, *keyPath, *examples, *n, *sums, *units, *noise); err != nil {
		fmt.Fprintln(os.Stderr, "genevents:", err)
		os.Exit(2)
	}
}

func run(dir, keyPath, cfg string, n, sums, units int, noise bool) error {
	ctx := context.Background()
	st, err := filestore.New(dir)
	if err != nil {
		return err
	}
	if err := publish(ctx, st, keyPath, cfg); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shares := []float64{0.5, 0.25, 0.25}
	rates := []float64{0.10, 0.11, 0.095}
	var nd []byte
	lines, seq, unit := 0, uint64(0), 0
	hour := Def.Start
	flush := func() error {
		if lines == 0 {
			return nil
		}
		seq++
		k := eventlog.BatchKey("shop", "production", eventlog.KindEvents, hour, "genevents", seq)
		if err := st.Put(ctx, k, eventlog.Compress(nd), blob.IfNoneMatch()); err != nil {
			return err
		}
		nd, lines = nd[:0], 0
		hour = hour.Add(10 * time.Minute)
		if !hour.Before(Def.End) {
			hour = Def.Start
		}
		return nil
	}
	emit := func(e eventlog.Event) error {
		e.Received, e.Source = e.Timestamp, eventlog.SourceTrack
		if e.Received.Before(hour) || !e.Received.Before(hour.Add(time.Hour)) {
			e.Received = hour.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		}
		nd = append(e.AppendJSON(nd), '\n')
		lines++
		if lines == 10_000 {
			return flush()
		}
		return nil
	}
	for written := 0; written < n; unit++ {
		u := unit
		if units > 0 {
			u = unit % units
		}
		// The variant is a function of the unit, as bucketing is.
		r, vi, acc := float64(uint32(u)*2654435761%1_000_000)/1e6, 0, shares[0]
		for r > acc && vi < 2 {
			vi++
			acc += shares[vi]
		}
		name := fmt.Sprintf("user-%07d", u)
		ts := hour.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		for k := 0; k < 1+rng.IntN(4) && written < n; k++ { // 1 to 4 exposures
			if err := emit(eventlog.Event{ID: fmt.Sprintf("%s-x%d-%d", name, unit, k), Type: eventlog.TypeExposure, FlagKey: Def.Flag,
				Variant: Def.Variants()[vi], Timestamp: ts.Add(time.Duration(k) * time.Minute), Unit: name}); err != nil {
				return err
			}
			written++
		}
		if noise && written+3 < n {
			other := Def.Variants()[(vi+1)%3]
			x := eventlog.Event{ID: fmt.Sprintf("%s-x%d-0", name, unit), Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: Def.Variants()[vi], Timestamp: ts, Unit: name}
			var extra []eventlog.Event
			switch rng.IntN(12) {
			case 0: // a retried exposure
				extra = append(extra, x)
			case 1: // seen again, with another variant
				extra = append(extra, eventlog.Event{ID: name + "-again", Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: other, Timestamp: ts.Add(2 * time.Hour), Unit: name})
			case 2: // two variants in the same millisecond
				extra = append(extra, eventlog.Event{ID: name + "-tie", Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: other, Timestamp: ts, Unit: name})
			case 3: // converted before any exposure only
				extra = append(extra, eventlog.Event{ID: name + "-early", Type: eventlog.TypeConversion, Name: "purchase", Timestamp: ts.Add(-time.Hour), Unit: name})
			case 4: // converted in the very millisecond of the exposure
				extra = append(extra, eventlog.Event{ID: name + "-same", Type: eventlog.TypeConversion, Name: "purchase", Timestamp: ts, Unit: name})
			case 5: // a unit exposed before the start, and one after the end
				extra = append(extra, eventlog.Event{ID: name + "-pre", Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: other, Timestamp: Def.Start.Add(-time.Minute), Unit: name + "-pre"},
					eventlog.Event{ID: name + "-post", Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: other, Timestamp: Def.End, Unit: name + "-post"})
			case 6: // a variant outside the experiment
				extra = append(extra, eventlog.Event{ID: name + "-purple", Type: eventlog.TypeExposure, FlagKey: Def.Flag, Variant: "purple", Timestamp: ts, Unit: name + "-p"})
			}
			for _, e := range extra {
				if err := emit(e); err != nil {
					return err
				}
				written++
			}
		}
		if rng.Float64() < rates[vi] && written < n {
			if err := emit(eventlog.Event{ID: fmt.Sprintf("%s-c%d", name, unit), Type: eventlog.TypeConversion, Name: "purchase", Timestamp: ts.Add(30 * time.Minute),
				Unit: name, Value: ptr(float64(10 + rng.IntN(90)))}); err != nil {
				return err
			}
			written++
		}
		if rng.IntN(3) == 0 && written < n { // unrelated traffic
			if err := emit(eventlog.Event{ID: fmt.Sprintf("%s-p%d", name, unit), Type: eventlog.TypeCustom, Name: "page_view", Timestamp: ts, Unit: name,
				Attributes: map[string]any{"path": "/checkout", "plan": "pro"}}); err != nil {
				return err
			}
			written++
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if sums > 0 {
		if err := summaries(ctx, st, sums); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d events of %d units in %d batches to %s\n", n, unit, seq, dir)
	return nil
}

func ptr(f float64) *float64 { return &f }

// summaries writes n evaluation-count records: 500 flags × 3 variants per
// hour, one batch per hour, hours going back from the end.
func summaries(ctx context.Context, st *filestore.Store, n int) error {
	var nd []byte
	seq, lines := uint64(1<<32), 0
	hour := Def.End.Add(-time.Hour)
	put := func() error {
		if lines == 0 {
			return nil
		}
		seq++
		err := st.Put(ctx, eventlog.BatchKey("shop", "production", eventlog.KindAnalytics, hour, "genevents", seq), eventlog.Compress(nd), blob.IfNoneMatch())
		nd, lines = nd[:0], 0
		return err
	}
	for i := 0; i < n; i++ {
		f := i % 1500
		if i > 0 && f == 0 { // a batch holds one hour, as edgefn writes them
			if err := put(); err != nil {
				return err
			}
			hour = hour.Add(-time.Hour)
		}
		s := eventlog.Summary{Hour: hour, Flag: fmt.Sprintf("flag-%03d", f/3), Variant: []string{"on", "off", "x"}[f%3], Reason: "SPLIT", Count: uint64(1 + i%97)}
		nd = append(s.AppendJSON(nd), '\n')
		lines++
	}
	return put()
}

// publish publishes cfg's production server bundle with Def attached,
// unless something is published already.
func publish(ctx context.Context, st *filestore.Store, keyPath, cfg string) error {
	p := store.NewPublisher(st)
	h, err := p.Head(ctx, "shop", "production")
	if err != nil {
		return err
	}
	if h.Current != 0 {
		return nil
	}
	doc, ds := compile.Validate(cfg, compile.LintOptions{})
	if ds.HasErrors() {
		return fmt.Errorf("%s: %v", cfg, ds.Errors())
	}
	b, ds := compile.Build(doc, "production", ir.AudienceServer)
	if ds.HasErrors() {
		return fmt.Errorf("build: %v", ds.Errors())
	}
	for i := range b.Flags {
		if b.Flags[i].Key == Def.Flag {
			if _, ok, _ := experiment.FromFlag(&b.Flags[i], "production"); !ok {
				Def.AttachTo(&b.Flags[i])
			}
		}
	}
	k, err := keys.LoadPrivate(keyPath)
	if err != nil {
		return err
	}
	signer, err := keys.Signer(k)
	if err != nil {
		return err
	}
	now := time.Now()
	data, err := seal.SealBundle(b, envelope.Claims{Version: h.Next, IssuedAt: now, ExpiresAt: now.Add(720 * time.Hour)}, signer)
	if err != nil {
		return err
	}
	_, err = p.Publish(ctx, h, store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": data}, Actor: "genevents"})
	return err
}
