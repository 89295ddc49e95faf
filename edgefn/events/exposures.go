package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
)

// Defaults of Exposures.
const (
	// DefaultExposureWindow: a unit's exposure to a variant is recorded
	// once within this window.
	DefaultExposureWindow = 24 * time.Hour
	// DefaultExposureCapacity bounds the (experiment, unit, variant)
	// triples remembered for the window (two generations of this many).
	DefaultExposureCapacity = 250_000
)

// Exposures is edgefn's exposure sink (api.Config.Exposures). Every
// evaluation served is counted for the analytics summaries. An evaluation
// is recorded as an exposure event (source "evaluation") when its flag's
// experiment (in the bundle's flag metadata) is running at that moment,
// the unit (targeting key) is known, the variant is one of the
// experiment's, and the variant came from a split (reason SPLIT): a unit
// that a targeting rule or the default served was not randomized and is
// no experiment data. Each experiment, unit and variant is recorded once
// within Window, and never when the caller sent X-Edgeflag-Exposures: off.
type Exposures struct {
	Writer *Writer
	// Environment is the environment served (experiments of other
	// environments are not in its bundles anyway).
	Environment string
	Window      time.Duration
	Capacity    int
	Logger      *slog.Logger
	// ServerMetadata, when set, returns a flag's metadata in the served
	// server bundle. Client bundles carry no metadata, so evaluations for
	// client tokens learn the flag's experiment from it.
	ServerMetadata func(flag string) []ir.Meta

	mu       sync.Mutex
	dedup    *dedup
	version  uint64
	byFlag   map[string]*runningExperiment // nil value: the flag has none
	dropped  uint64
	lastWarn time.Time
}

type runningExperiment struct {
	def      experiment.Definition
	variants map[string]bool
}

// Dropped counts exposures that could not be recorded because the event
// buffer was full.
func (x *Exposures) Dropped() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.dropped
}

// lookup returns the experiment of an evaluated flag, cached per bundle
// version. Called with mu held.
func (x *Exposures) lookup(e *api.Exposure) *runningExperiment {
	if x.byFlag == nil || e.Version != x.version {
		x.byFlag, x.version = map[string]*runningExperiment{}, e.Version
	}
	if r, ok := x.byFlag[e.Flag]; ok {
		return r
	}
	var r *runningExperiment
	meta := e.Metadata
	if _, has, _ := experiment.FromMeta(e.Flag, x.Environment, meta); !has && x.ServerMetadata != nil {
		meta = x.ServerMetadata(e.Flag)
	}
	if d, ok, err := experiment.FromMeta(e.Flag, x.Environment, meta); ok {
		if err != nil {
			if x.Logger != nil {
				x.Logger.Warn("flag carries unreadable experiment metadata; no exposures recorded", "flag", e.Flag, "error", err.Error())
			}
		} else {
			r = &runningExperiment{def: d, variants: map[string]bool{}}
			for _, v := range d.Variants() {
				r.variants[v] = true
			}
		}
	}
	x.byFlag[e.Flag] = r
	return r
}

func newEventID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "x-" + hex.EncodeToString(b[:])
}

// Exposures implements api.ExposureSink. It never blocks on the store:
// exposures that do not fit the buffer are counted (Dropped) and logged.
func (x *Exposures) Exposures(ctx context.Context, batch []api.Exposure) {
	var evs []eventlog.Event
	var keys []uint64
	x.mu.Lock()
	if x.dedup == nil {
		w, c := x.Window, x.Capacity
		if w <= 0 {
			w = DefaultExposureWindow
		}
		if c <= 0 {
			c = DefaultExposureCapacity
		}
		x.dedup = newDedup(w, c, time.Now())
	}
	x.Writer.CountExposures(batch)
	for i := range batch {
		e := &batch[i]
		if e.Untracked || e.Unit == "" || e.Reason != string(eval.ReasonSplit) {
			continue
		}
		r := x.lookup(e)
		if r == nil || e.Time.Before(r.def.Start) || !e.Time.Before(r.def.End) || !r.variants[e.Variant] {
			continue
		}
		k := x.dedup.key(r.def.Key, e.Unit, e.Variant)
		if x.dedup.seen(k) {
			continue
		}
		ev := eventlog.Event{ID: newEventID(), Type: eventlog.TypeExposure, FlagKey: e.Flag, Variant: e.Variant,
			Timestamp: e.Time.UTC().Truncate(time.Millisecond), Unit: e.Unit, Source: eventlog.SourceEvaluation}
		if eventlog.Validate(&ev) != nil {
			continue // a targeting key no event can hold (too long, control characters)
		}
		evs = append(evs, ev)
		keys = append(keys, k)
	}
	x.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	if _, _, err := x.Writer.Add(evs); err != nil {
		x.mu.Lock()
		x.dropped += uint64(len(evs))
		warn := time.Since(x.lastWarn) > time.Minute
		if warn {
			x.lastWarn = time.Now()
		}
		n := x.dropped
		x.mu.Unlock()
		if warn && x.Logger != nil {
			x.Logger.Warn("exposures not recorded: the event buffer is full", "dropped", n, "error", err.Error())
		}
		return
	}
	x.mu.Lock()
	now := time.Now()
	for _, k := range keys {
		x.dedup.add(k, now) // only once stored: a refused exposure is recorded at the next evaluation
	}
	x.mu.Unlock()
}
