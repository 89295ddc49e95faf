package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

var (
	start = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	end   = time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	def   = Definition{Key: "checkout-color", Flag: "checkout-button-color", Environment: "production", Control: "control",
		Treatments: []string{"green", "orange"}, Conversions: []string{"purchase", "subscribe"}, Start: start, End: end, MinimumSample: 2}
)

func expo(unit, id, variant string, ts time.Time) eventlog.Event {
	return eventlog.Event{ID: id, Type: eventlog.TypeExposure, FlagKey: def.Flag, Variant: variant, Timestamp: ts, Unit: unit, Source: eventlog.SourceTrack}
}

func conv(unit, id, name string, ts time.Time) eventlog.Event {
	return eventlog.Event{ID: id, Type: eventlog.TypeConversion, Name: name, Timestamp: ts, Unit: unit, Source: eventlog.SourceTrack}
}

func at(h int) time.Time { return start.Add(time.Duration(h) * time.Hour) }

func TestAnalyzerCases(t *testing.T) {
	evs := []eventlog.Event{
		expo("u1", "1", "control", at(1)), conv("u1", "2", "purchase", at(2)), // converted
		conv("u2", "3", "purchase", at(1)), expo("u2", "4", "green", at(2)), // converted before exposure only
		expo("u3", "5", "green", at(1)), expo("u3", "5", "green", at(1)), conv("u3", "6", "subscribe", at(30)), // a duplicate
		expo("u4", "7", "orange", start.Add(-time.Second)),                  // before the window
		expo("u5", "8", "off", at(3)),                                       // not an experiment variant
		expo("u6", "9", "control", at(4)), expo("u6", "10", "green", at(5)), // two variants: counts as control
		conv("u7", "11", "purchase", at(4)),                                  // never exposed
		expo("u8", "12", "orange", at(4)), conv("u8", "13", "signup", at(5)), // not a conversion event
		{ID: "14", Type: eventlog.TypeExposure, FlagKey: "other-flag", Variant: "green", Timestamp: at(1), Unit: "u9", Source: eventlog.SourceTrack},
		expo("u10", "15", "green", at(6)), expo("u10", "16", "control", at(6)), // same ms: "control" sorts first
		expo("u11", "17", "orange", at(7)), conv("u11", "18", "purchase", end), // converts at end: outside
		expo("u12", "19", "orange", at(7)), conv("u12", "20", "purchase", at(7)), // same ms counts as after
	}
	a, err := NewAnalyzer(def, []float64{0.5, 0.25, 0.25})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		a.Add(&evs[i])
	}
	r := a.Result(end.Add(time.Hour))
	got := map[string][2]int{}
	for _, v := range r.Variants {
		got[v.Variant] = [2]int{v.Exposed, v.Converted}
	}
	want := map[string][2]int{"control": {3, 1}, "green": {2, 1}, "orange": {3, 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	q := Quality{OutsideWindow: 2, Duplicates: 1, MultipleVariants: 2, OtherVariants: 1, ConvertedNotExposed: 1}
	if r.Quality != q {
		t.Fatalf("quality %+v, want %+v", r.Quality, q)
	}
	if r.Status != "ended" || !r.SampleReached || len(r.Daily) != 7 || fmt.Sprint(r.Daily[0].Exposed) != "[3 2 3]" || r.Daily[1].Date != "2026-12-02" {
		t.Fatalf("%+v", r)
	}
	if r.Variants[0].Lift != nil || r.Variants[0].PValue != nil || r.Variants[1].Lift == nil || math.Abs(*r.Variants[1].Lift-(0.5-1.0/3)) > 1e-15 {
		t.Fatalf("lifts %+v", r.Variants)
	}
	if r.SRMPValue == nil || r.SRM { // 3/2/3 against 50/25/25 is no mismatch
		t.Fatalf("srm %v %v", r.SRMPValue, r.SRM)
	}
}

// reference recomputes exposed and converted units another way: group
// the events by unit, drop repeated (unit, id), sort each unit's
// exposures by time then variant, and look for a conversion in
// [first exposure, end).
func reference(evs []eventlog.Event) (exposed, converted map[string]int) {
	exposed, converted = map[string]int{}, map[string]int{}
	byUnit := map[string][]eventlog.Event{}
	seen := map[[2]string]bool{}
	for _, e := range evs {
		if seen[[2]string{e.Unit, e.ID}] {
			continue
		}
		seen[[2]string{e.Unit, e.ID}] = true
		byUnit[e.Unit] = append(byUnit[e.Unit], e)
	}
	inWindow := func(e eventlog.Event) bool { return !e.Timestamp.Before(start) && e.Timestamp.Before(end) }
	for _, list := range byUnit {
		var xs []eventlog.Event
		for _, e := range list {
			if e.Type == eventlog.TypeExposure && e.FlagKey == def.Flag && slices.Contains(def.Variants(), e.Variant) && inWindow(e) {
				xs = append(xs, e)
			}
		}
		if len(xs) == 0 {
			continue
		}
		sort.Slice(xs, func(i, j int) bool {
			if !xs[i].Timestamp.Equal(xs[j].Timestamp) {
				return xs[i].Timestamp.Before(xs[j].Timestamp)
			}
			return xs[i].Variant < xs[j].Variant
		})
		first := xs[0]
		exposed[first.Variant]++
		for _, e := range list {
			if e.Type == eventlog.TypeConversion && slices.Contains(def.Conversions, e.Name) && inWindow(e) && !e.Timestamp.Before(first.Timestamp) {
				converted[first.Variant]++
				break
			}
		}
	}
	return exposed, converted
}

func TestAnalyzerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var evs []eventlog.Event
	variants := []string{"control", "green", "orange", "off"}
	for i := 0; i < 30000; i++ {
		unit := fmt.Sprint("u", rng.IntN(4000))
		ts := start.Add(time.Duration(rng.Int64N(int64(9*24*time.Hour))) - 24*time.Hour).Truncate(time.Second)
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			evs = append(evs, expo(unit, fmt.Sprint(i), variants[rng.IntN(4)], ts))
		case 4, 5:
			evs = append(evs, conv(unit, fmt.Sprint(i), []string{"purchase", "subscribe", "signup"}[rng.IntN(3)], ts))
		case 6:
			if len(evs) > 0 {
				evs = append(evs, evs[rng.IntN(len(evs))]) // a duplicate
			}
		default:
			evs = append(evs, expo(unit, fmt.Sprint(i), "control", ts.Truncate(24*time.Hour))) // many ties at midnight
		}
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] }) // any order
	a, err := NewAnalyzer(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		a.Add(&evs[i])
	}
	r := a.Result(end)
	wantE, wantC := reference(evs)
	for _, v := range r.Variants {
		if v.Exposed != wantE[v.Variant] || v.Converted != wantC[v.Variant] {
			t.Errorf("%s: %d/%d, reference %d/%d", v.Variant, v.Exposed, v.Converted, wantE[v.Variant], wantC[v.Variant])
		}
		if v.Exposed == 0 {
			t.Errorf("%s: no units: the data does not exercise it", v.Variant)
		}
	}
	if r.SRMPValue != nil || len(r.Warnings) == 0 {
		t.Fatalf("srm without shares: %v %v", r.SRMPValue, r.Warnings)
	}
}

func TestDefinitionMetaRoundTrip(t *testing.T) {
	d := def
	d.MinimumSample = 1000
	meta := d.Meta()
	if !sort.SliceIsSorted(meta, func(i, j int) bool { return meta[i].Key < meta[j].Key }) {
		t.Fatal("metadata not sorted by key (the bundle requires it)")
	}
	f := testFlag(meta)
	got, ok, err := FromFlag(&f, "production")
	if err != nil || !ok || fmt.Sprint(got) != fmt.Sprint(d) {
		t.Fatalf("%+v %v %v", got, ok, err)
	}
	f.Metadata = nil
	if _, ok, _ := FromFlag(&f, "production"); ok {
		t.Fatal("found an experiment in a flag without one")
	}
	bad := d
	bad.Treatments = []string{"control"}
	if bad.Validate() == nil {
		t.Fatal("control as a treatment")
	}
	bad = d
	bad.End = bad.Start
	if bad.Validate() == nil {
		t.Fatal("empty window")
	}
}

// testFlag is checkout-button-color with variants control, green, off,
// orange (sorted, as bundles keep them).
func testFlag(meta []ir.Meta) ir.Flag {
	vs := []ir.Variant{{Name: "control", Value: []byte(`"grey"`)}, {Name: "green", Value: []byte(`"green"`)},
		{Name: "off", Value: []byte(`"grey"`)}, {Name: "orange", Value: []byte(`"orange"`)}}
	return ir.Flag{Key: def.Flag, Type: ir.TypeString, Variants: vs, Enabled: true, Metadata: meta}
}

func TestShares(t *testing.T) {
	split := func(w ...uint32) ir.Serve { // control, green, off, orange
		var s ir.Serve
		for i, x := range w {
			if x > 0 {
				s.Split = append(s.Split, ir.Weight{Variant: int32(i), Weight: x})
			}
		}
		return s
	}
	f := testFlag(nil)
	f.Default = split(50, 25, 0, 25)
	b := &ir.Bundle{Flags: []ir.Flag{f}}
	d := def
	if s, ok := Shares(b, &d); !ok || fmt.Sprint(s) != "[0.5 0.25 0.25]" {
		t.Fatal(s, ok)
	}
	// A rule's split that also holds out "off" weighs the experiment's
	// variants the same: still known.
	b.Flags[0].Rules = []ir.Rule{{ID: "r", Serve: split(20, 10, 60, 10)}}
	if s, ok := Shares(b, &d); !ok || fmt.Sprint(s) != "[0.5 0.25 0.25]" {
		t.Fatal(s, ok)
	}
	b.Flags[0].Rules = []ir.Rule{{ID: "r", Serve: split(10, 10, 0, 10)}}
	if s, ok := Shares(b, &d); ok {
		t.Fatalf("two different ratios: %v", s)
	}
	b.Flags[0].Rules = nil
	b.Flags[0].Default = split(50, 50, 0, 0) // orange never served
	if s, ok := Shares(b, &d); ok {
		t.Fatalf("a variant outside every split: %v", s)
	}
}
