package experiment

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// SRMThreshold: a sample-ratio test below this p-value flags a mismatch.
const SRMThreshold = 0.001

// DedupCapacity bounds the event ids the analyzer remembers to count
// duplicates (two generations of this many): a repeat further away in the
// stored order than that is not counted. Duplicates never change the unit
// counts (a unit's first exposure and whether it converted are the same
// with or without them).
const DedupCapacity = 1 << 18

// Analyzer computes an experiment's results from its events, streaming:
// memory grows with the number of units, not of events. Feed it every
// stored event (Add), in any order, then call Result.
type Analyzer struct {
	def        Definition
	shares     []float64
	variants   []string
	vindex     map[string]int
	conv       map[string]bool
	start, end int64 // Unix ms
	seed       maphash.Seed
	units      map[uint64]unit
	seen       [2]map[uint64]struct{}
	q          Quality
}

// unit is what the analysis keeps per unit.
type unit struct {
	first    int64  // first exposure (Unix ms) in the window
	lastConv int64  // latest conversion (Unix ms) in the window
	mask     uint64 // experiment variants it was exposed to
	variant  int8   // the variant of its first exposure
	conv     bool
}

// Quality counts the data problems an analysis met.
type Quality struct {
	// OutsideWindow: exposures of the flag and conversions whose
	// timestamp falls outside [start, end).
	OutsideWindow int `json:"outsideWindow"`
	// Duplicates: events seen again with the same unit and id.
	Duplicates int `json:"duplicates"`
	// MultipleVariants: units exposed to more than one variant of the
	// experiment (they count under their first exposure's variant).
	MultipleVariants int `json:"multipleVariants"`
	// OtherVariants: exposures of the flag to variants outside the
	// experiment (ignored).
	OtherVariants int `json:"otherVariants"`
	// ConvertedNotExposed: units with conversions but no exposure in the
	// window (ignored).
	ConvertedNotExposed int `json:"convertedNotExposed"`
	// Unreadable: stored lines or batches that could not be read.
	Unreadable int `json:"unreadable"`
}

// NewAnalyzer prepares the analysis of d. shares are the expected shares
// of d.Variants() (nil: no sample-ratio test).
func NewAnalyzer(d Definition, shares []float64) (*Analyzer, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("analyze experiment %s: %w", d.Key, err)
	}
	a := &Analyzer{def: d, variants: d.Variants(), vindex: map[string]int{}, conv: map[string]bool{},
		start: d.Start.UnixMilli(), end: d.End.UnixMilli(), seed: maphash.MakeSeed(), units: map[uint64]unit{},
		seen: [2]map[uint64]struct{}{{}, {}}}
	if len(shares) == len(a.variants) {
		a.shares = shares
	}
	for i, v := range a.variants {
		a.vindex[v] = i
	}
	for _, c := range d.Conversions {
		a.conv[c] = true
	}
	return a, nil
}

func (a *Analyzer) hash(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// Unreadable counts lines or batches the caller could not read.
func (a *Analyzer) Unreadable(n int) { a.q.Unreadable += n }

// Add takes one stored event; events of other flags and event names are
// ignored.
func (a *Analyzer) Add(e *eventlog.Event) {
	exposure := e.Type == eventlog.TypeExposure && e.FlagKey == a.def.Flag
	conversion := e.Type == eventlog.TypeConversion && a.conv[e.Name]
	if !exposure && !conversion {
		return
	}
	k := a.hash(e.Unit, e.ID)
	_, d0 := a.seen[0][k]
	_, d1 := a.seen[1][k]
	if d0 || d1 {
		a.q.Duplicates++
		return
	}
	if len(a.seen[0]) >= DedupCapacity {
		a.seen[1], a.seen[0] = a.seen[0], make(map[uint64]struct{}, DedupCapacity/4)
	}
	a.seen[0][k] = struct{}{}
	ts := e.Timestamp.UnixMilli()
	if ts < a.start || ts >= a.end {
		a.q.OutsideWindow++
		return
	}
	uk := a.hash(e.Unit)
	u, known := a.units[uk]
	if !known {
		u.lastConv = math.MinInt64
	}
	if exposure {
		vi, ok := a.vindex[e.Variant]
		if !ok {
			a.q.OtherVariants++
			return
		}
		// The first exposure wins; at the same millisecond, the variant
		// name that sorts first (as the SQL in docs/experiments.md does).
		if u.mask == 0 || ts < u.first || (ts == u.first && a.variants[vi] < a.variants[u.variant]) {
			u.first, u.variant = ts, int8(vi)
		}
		u.mask |= 1 << uint(vi)
	} else {
		u.conv = true
		u.lastConv = max(u.lastConv, ts)
	}
	a.units[uk] = u
}

// Units is the number of units the analyzer holds.
func (a *Analyzer) Units() int { return len(a.units) }

// VariantResult is one variant's line of the results.
type VariantResult struct {
	Variant   string     `json:"variant"`
	Exposed   int        `json:"exposed"`
	Converted int        `json:"converted"`
	Rate      float64    `json:"rate"`
	RateCI    [2]float64 `json:"rateCI"`
	// Lift is the absolute difference of rates against the control,
	// RelativeLift the ratio of rates minus one; PValue the two-sided
	// two-proportion z test against the control. Absent for the control
	// (and RelativeLift when the control has no conversions).
	Lift           *float64    `json:"lift,omitempty"`
	LiftCI         *[2]float64 `json:"liftCI,omitempty"`
	RelativeLift   *float64    `json:"relativeLift,omitempty"`
	RelativeLiftCI *[2]float64 `json:"relativeLiftCI,omitempty"`
	PValue         *float64    `json:"pValue,omitempty"`
	// ExpectedShare is the variant's share in the split (absent without
	// a sample-ratio test).
	ExpectedShare *float64 `json:"expectedShare,omitempty"`
}

// Day counts the units first exposed on one UTC day, per variant (in the
// order of Results.Variants).
type Day struct {
	Date    string `json:"date"`
	Exposed []int  `json:"exposed"`
}

// Results is the report of `edgeflag results`.
type Results struct {
	Experiment    string          `json:"experiment"`
	Flag          string          `json:"flag"`
	Project       string          `json:"project"`
	Environment   string          `json:"environment"`
	Status        string          `json:"status"`
	Start         string          `json:"start"`
	End           string          `json:"end"`
	Control       string          `json:"control"`
	Conversions   []string        `json:"conversions"`
	MinimumSample int             `json:"minimumSample"`
	SampleReached bool            `json:"sampleReached"`
	Variants      []VariantResult `json:"variants"`
	// SRMPValue is the chi-square goodness-of-fit p-value of the exposed
	// counts against the split's weights (absent when the weights are not
	// known); SRM is true below SRMThreshold.
	SRMPValue    *float64 `json:"srmPValue"`
	SRMChiSquare *float64 `json:"srmChiSquare,omitempty"`
	SRM          bool     `json:"srm"`
	Quality      Quality  `json:"quality"`
	Daily        []Day    `json:"daily"`
	Methods      Methods  `json:"methods"`
	Warnings     []string `json:"warnings"`
	// Scanned describes what was read.
	Scanned Scanned `json:"scanned"`
}

// Methods names the statistical methods used.
type Methods struct {
	RateCI         string  `json:"rateCI"`
	LiftCI         string  `json:"liftCI"`
	RelativeLiftCI string  `json:"relativeLiftCI"`
	PValue         string  `json:"pValue"`
	SRM            string  `json:"srm"`
	Confidence     float64 `json:"confidence"`
}

// Scanned counts the stored data read.
type Scanned struct {
	Batches int    `json:"batches"`
	Events  int    `json:"events"`
	From    string `json:"from"`
	To      string `json:"to"`
}

func fptr(f float64) *float64 { return &f }

// Result computes the results at now.
func (a *Analyzer) Result(now time.Time) *Results {
	d := &a.def
	r := &Results{Experiment: d.Key, Flag: d.Flag, Environment: d.Environment, Status: d.Status(now),
		Start: d.Start.UTC().Format(time.RFC3339), End: d.End.UTC().Format(time.RFC3339), Control: d.Control,
		Conversions: d.Conversions, MinimumSample: d.MinimumSample, Quality: a.q, Warnings: []string{},
		Methods: Methods{RateCI: "wilson", LiftCI: "newcombe-hybrid-score", RelativeLiftCI: "katz-log",
			PValue: "two-proportion-z-pooled", SRM: "chi-square-goodness-of-fit", Confidence: 0.95}}
	n := len(a.variants)
	exposed, converted := make([]int, n), make([]int, n)
	startDay := d.Start.UTC().Truncate(24 * time.Hour).UnixMilli()
	last := d.End.Add(-time.Millisecond)
	if now.Before(last) {
		last = now
	}
	lastDay := last.UTC().Truncate(24 * time.Hour).UnixMilli()
	var daily [][]int
	if lastDay >= startDay {
		daily = make([][]int, (lastDay-startDay)/86_400_000+1)
	}
	for _, u := range a.units {
		if u.mask == 0 {
			if u.conv {
				r.Quality.ConvertedNotExposed++
			}
			continue
		}
		exposed[u.variant]++
		if u.conv && u.lastConv >= u.first {
			converted[u.variant]++
		}
		if bits.OnesCount64(u.mask) > 1 {
			r.Quality.MultipleVariants++
		}
		if di := (u.first - startDay) / 86_400_000; di >= 0 && int(di) < len(daily) {
			if daily[di] == nil {
				daily[di] = make([]int, n)
			}
			daily[di][u.variant]++
		}
	}
	for i := range daily {
		if daily[i] == nil {
			daily[i] = make([]int, n)
		}
		r.Daily = append(r.Daily, Day{Date: time.UnixMilli(startDay + int64(i)*86_400_000).UTC().Format("2006-01-02"), Exposed: daily[i]})
	}
	r.SampleReached = true
	for i, v := range a.variants {
		vr := VariantResult{Variant: v, Exposed: exposed[i], Converted: converted[i], Rate: rate(converted[i], exposed[i])}
		vr.RateCI[0], vr.RateCI[1] = Wilson(converted[i], exposed[i], Z95)
		if a.shares != nil {
			vr.ExpectedShare = fptr(a.shares[i])
		}
		if i > 0 && exposed[i] > 0 && exposed[0] > 0 {
			vr.Lift = fptr(vr.Rate - rate(converted[0], exposed[0]))
			lo, hi := NewcombeDiff(converted[i], exposed[i], converted[0], exposed[0], Z95)
			vr.LiftCI = &[2]float64{lo, hi}
			if converted[0] > 0 {
				vr.RelativeLift = fptr(vr.Rate/rate(converted[0], exposed[0]) - 1)
				if lo, hi, ok := RatioCI(converted[i], exposed[i], converted[0], exposed[0], Z95); ok {
					vr.RelativeLiftCI = &[2]float64{lo, hi}
				}
			}
			if _, p, ok := TwoProportionZ(converted[i], exposed[i], converted[0], exposed[0]); ok {
				vr.PValue = fptr(p)
			}
		}
		if exposed[i] < d.MinimumSample {
			r.SampleReached = false
		}
		r.Variants = append(r.Variants, vr)
	}
	if a.shares != nil {
		if stat, _, p, ok := ChiSquareGOF(exposed, a.shares); ok {
			r.SRMPValue, r.SRMChiSquare = fptr(p), fptr(stat)
			r.SRM = p < SRMThreshold
		}
	}
	r.Warnings = a.warnings(r, exposed)
	return r
}

func (a *Analyzer) warnings(r *Results, exposed []int) []string {
	w := []string{}
	if r.SRM {
		var parts []string
		total := 0
		for _, e := range exposed {
			total += e
		}
		for i, v := range a.variants {
			parts = append(parts, fmt.Sprintf("%s %d (expected %.0f, %s)", v, exposed[i], float64(total)*a.shares[i], formatShare(a.shares[i])))
		}
		w = append(w, fmt.Sprintf("sample ratio mismatch: p = %.3g < %g; the exposed units do not follow the split (%s): find the cause before trusting any result",
			*r.SRMPValue, SRMThreshold, joinComma(parts)))
	}
	if a.shares == nil {
		w = append(w, "no sample-ratio test: the flag has no single split weighing all of the experiment's variants")
	}
	if !r.SampleReached {
		var short []string
		for i, v := range a.variants {
			if exposed[i] < r.MinimumSample {
				short = append(short, fmt.Sprintf("%s %d", v, exposed[i]))
			}
		}
		w = append(w, fmt.Sprintf("minimum sample of %d units per variant not reached (%s): results are preliminary", r.MinimumSample, joinComma(short)))
	}
	if r.Status == "scheduled" {
		w = append(w, "the experiment has not started")
	}
	if q := r.Quality; q.MultipleVariants > 0 {
		w = append(w, fmt.Sprintf("%d unit(s) were exposed to more than one variant; each counts under the variant it saw first", q.MultipleVariants))
	}
	if r.Variants[0].Converted == 0 && r.Variants[0].Exposed > 0 {
		w = append(w, "the control has no conversions: relative lift is undefined")
	}
	if a.q.Unreadable > 0 {
		w = append(w, fmt.Sprintf("%d stored line(s) or batch(es) could not be read and were skipped", a.q.Unreadable))
	}
	return w
}

func joinComma(s []string) string { return strings.Join(s, ", ") }
