// Package metrics counts what edgefn does and writes it out two ways:
// Prometheus text exposition (GET /metrics in `edgefn serve`) and
// CloudWatch embedded metric format lines (stdout in Lambda). Written by
// hand: a few counters, one histogram and gauges read from the bundle
// source's status at scrape time do not earn a client library.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	rtmetrics "runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/source"
)

// LatencyBuckets are the request duration histogram's upper bounds, in
// seconds.
var LatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

type evalKey struct{ flag, variant, reason string }

// evalCounts counts the evaluations of one flag by variant and reason.
// The list is copy-on-write: readers load it without a lock, the rare
// writer (a pair not seen before) copies it under mu.
type evalCounts struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*evalCount]
}

type evalCount struct {
	variant, reason string
	n               atomic.Uint64
}

func (f *evalCounts) get(variant, reason string) *atomic.Uint64 {
	if l := f.list.Load(); l != nil {
		for _, c := range *l {
			if c.variant == variant && c.reason == reason {
				return &c.n
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var old []*evalCount
	if l := f.list.Load(); l != nil {
		old = *l
		for _, c := range old {
			if c.variant == variant && c.reason == reason {
				return &c.n
			}
		}
	}
	c := &evalCount{variant: variant, reason: reason}
	l := append(append(make([]*evalCount, 0, len(old)+1), old...), c)
	f.list.Store(&l)
	return &c.n
}

// evalTable maps flag keys to their counts. A flag's entry is made once;
// after that an evaluation costs a read-locked lookup by one string and a
// short scan.
type evalTable struct {
	mu sync.RWMutex
	m  map[string]*evalCounts
}

func (t *evalTable) flag(key string) *evalCounts {
	t.mu.RLock()
	f := t.m[key]
	t.mu.RUnlock()
	if f != nil {
		return f
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if f = t.m[key]; f == nil {
		if t.m == nil {
			t.m = map[string]*evalCounts{}
		}
		f = &evalCounts{}
		t.m[key] = f
	}
	return f
}

// each calls fn for every counted (flag, variant, reason).
func (t *evalTable) each(fn func(k evalKey, n uint64)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for flag, f := range t.m {
		if l := f.list.Load(); l != nil {
			for _, c := range *l {
				fn(evalKey{flag, c.variant, c.reason}, c.n.Load())
			}
		}
	}
}

type histogram struct {
	counts []atomic.Uint64 // per bucket, then +Inf
	sumNs  atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(LatencyBuckets, s)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// Registry holds the counters. Its methods are safe for concurrent use.
type Registry struct {
	routes  []string
	latency map[string]*histogram
	evals   evalTable
	// reqs counts answers by route and status code (one slot per code:
	// a lookup without hashing, locks or allocation).
	reqs    map[string]*[1000]atomic.Uint64
	limited sync.Map // route -> *atomic.Uint64

	emfMu   sync.Mutex
	emfLast struct {
		at                     time.Time
		requests, evals, fails uint64
		haveTotals             bool
	}
}

// New returns a registry for the given route names; requests of other
// routes are counted as "other".
func New(routes []string) *Registry {
	r := &Registry{routes: append(append([]string(nil), routes...), "other"), latency: map[string]*histogram{},
		reqs: map[string]*[1000]atomic.Uint64{}}
	for _, rt := range r.routes {
		r.latency[rt] = &histogram{counts: make([]atomic.Uint64, len(LatencyBuckets)+1)}
		r.reqs[rt] = new([1000]atomic.Uint64)
	}
	return r
}

func counter(m *sync.Map, k any) *atomic.Uint64 {
	if c, ok := m.Load(k); ok {
		return c.(*atomic.Uint64)
	}
	c, _ := m.LoadOrStore(k, new(atomic.Uint64))
	return c.(*atomic.Uint64)
}

// Evaluation counts one flag evaluation. Callers pass "" as the flag for
// keys that are not in the bundle, so that callers cannot grow the label
// set.
func (r *Registry) Evaluation(flag, variant, reason string) {
	r.evals.flag(flag).get(variant, reason).Add(1)
}

// Evaluations counts n evaluations (a bulk answer's); at returns the i-th.
func (r *Registry) Evaluations(n int, at func(i int) (flag, variant, reason string)) {
	for i := 0; i < n; i++ {
		flag, variant, reason := at(i)
		r.evals.flag(flag).get(variant, reason).Add(1)
	}
}

// Request counts one answered request and its duration.
func (r *Registry) Request(route string, status int, d time.Duration) {
	h, ok := r.latency[route]
	if !ok {
		route, h = "other", r.latency["other"]
	}
	if status < 100 || status > 999 {
		status = 0
	}
	r.reqs[route][status].Add(1)
	h.observe(d)
}

// RateLimited counts one request refused with 429.
func (r *Registry) RateLimited(route string) { counter(&r.limited, route).Add(1) }

// WritePrometheus writes every metric in the Prometheus text format
// (version 0.0.4), with the source's state at now.
func (r *Registry) WritePrometheus(w io.Writer, st source.Status, now time.Time) error {
	var b strings.Builder
	help := func(name, typ, text string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ)
	}
	help("edgefn_evaluations_total", "counter", "Flag evaluations by flag, variant and reason (flag \"\" for keys not in the bundle).")
	for _, e := range sortedEvals(&r.evals) {
		fmt.Fprintf(&b, "edgefn_evaluations_total{flag=%s,variant=%s,reason=%s} %d\n", q(e.k.flag), q(e.k.variant), q(e.k.reason), e.n)
	}
	help("edgefn_requests_total", "counter", "Answered HTTP requests by route and status.")
	for _, rt := range sortedKeys(r.reqs) {
		for status := range r.reqs[rt] {
			if n := r.reqs[rt][status].Load(); n > 0 {
				fmt.Fprintf(&b, "edgefn_requests_total{route=%s,status=\"%d\"} %d\n", q(rt), status, n)
			}
		}
	}
	help("edgefn_request_duration_seconds", "histogram", "Request handling time by route.")
	for _, rt := range r.routes {
		h := r.latency[rt]
		var cum uint64
		for i, ub := range LatencyBuckets {
			cum += h.counts[i].Load()
			fmt.Fprintf(&b, "edgefn_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", q(rt), strconv.FormatFloat(ub, 'g', -1, 64), cum)
		}
		cum += h.counts[len(LatencyBuckets)].Load()
		fmt.Fprintf(&b, "edgefn_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", q(rt), cum)
		fmt.Fprintf(&b, "edgefn_request_duration_seconds_sum{route=%s} %s\n", q(rt), fnum(float64(h.sumNs.Load())/1e9))
		fmt.Fprintf(&b, "edgefn_request_duration_seconds_count{route=%s} %d\n", q(rt), cum)
	}
	help("edgefn_rate_limited_total", "counter", "Requests refused with 429, by route.")
	var lim []string
	r.limited.Range(func(k, _ any) bool { lim = append(lim, k.(string)); return true })
	sort.Strings(lim)
	for _, rt := range lim {
		fmt.Fprintf(&b, "edgefn_rate_limited_total{route=%s} %d\n", q(rt), counter(&r.limited, rt).Load())
	}
	help("edgefn_bundle_version", "gauge", "Version of the bundle being served.")
	fmt.Fprintf(&b, "edgefn_bundle_version %d\n", st.Version)
	help("edgefn_bundle_age_seconds", "gauge", "Seconds since the served bundle was issued (signed iat).")
	fmt.Fprintf(&b, "edgefn_bundle_age_seconds %s\n", fnum(BundleAge(st, now)))
	help("edgefn_bundle_expires_in_seconds", "gauge", "Seconds until the served bundle expires (negative: expired).")
	fmt.Fprintf(&b, "edgefn_bundle_expires_in_seconds %s\n", fnum(st.ExpiresAt.Sub(now).Seconds()))
	help("edgefn_last_known_good", "gauge", "1 while the last refresh failed and the last-known-good bundle is served.")
	fmt.Fprintf(&b, "edgefn_last_known_good %d\n", b2i(st.LastKnownGood()))
	help("edgefn_refresh_consecutive_failures", "gauge", "Failed refreshes since the last successful one.")
	fmt.Fprintf(&b, "edgefn_refresh_consecutive_failures %d\n", st.ConsecutiveFailures)
	help("edgefn_refresh_last_success_age_seconds", "gauge", "Seconds since the last successful refresh (-1: none yet).")
	if st.LastSuccess.IsZero() {
		b.WriteString("edgefn_refresh_last_success_age_seconds -1\n")
	} else {
		fmt.Fprintf(&b, "edgefn_refresh_last_success_age_seconds %s\n", fnum(now.Sub(st.LastSuccess).Seconds()))
	}
	help("edgefn_refresh_failures_total", "counter", "Failed bundle refreshes by reason.")
	for _, k := range sortedKeys(st.Failures) {
		fmt.Fprintf(&b, "edgefn_refresh_failures_total{reason=%s} %d\n", q(k), st.Failures[k])
	}
	help("edgefn_refreshes_total", "counter", "Successful bundle refreshes by outcome (unchanged, updated).")
	for _, k := range sortedKeys(st.Refreshes) {
		fmt.Fprintf(&b, "edgefn_refreshes_total{outcome=%s} %d\n", q(k), st.Refreshes[k])
	}
	writeRuntime(&b, help)
	_, err := io.WriteString(w, b.String())
	return err
}

// runtimeSamples are the Go runtime figures /metrics exposes, to watch a
// long-running server for leaks (goroutines, heap) and its collector.
var runtimeSamples = []struct{ name, typ, help, sample string }{
	{"edgefn_go_goroutines", "gauge", "Goroutines that currently exist.", "/sched/goroutines:goroutines"},
	{"edgefn_go_heap_objects_bytes", "gauge", "Bytes of heap objects, live and not yet swept.", "/memory/classes/heap/objects:bytes"},
	{"edgefn_go_memory_bytes", "gauge", "All memory the Go runtime has mapped.", "/memory/classes/total:bytes"},
	{"edgefn_go_gc_cycles_total", "counter", "Completed garbage collection cycles.", "/gc/cycles/total:gc-cycles"},
}

func writeRuntime(b *strings.Builder, help func(name, typ, text string)) {
	samples := make([]rtmetrics.Sample, len(runtimeSamples))
	for i, r := range runtimeSamples {
		samples[i].Name = r.sample
	}
	rtmetrics.Read(samples)
	for i, r := range runtimeSamples {
		if samples[i].Value.Kind() != rtmetrics.KindUint64 {
			continue // not in this Go version
		}
		help(r.name, r.typ, r.help)
		fmt.Fprintf(b, "%s %d\n", r.name, samples[i].Value.Uint64())
	}
}

type evalSample struct {
	k evalKey
	n uint64
}

func sortedEvals(t *evalTable) []evalSample {
	var out []evalSample
	t.each(func(k evalKey, n uint64) { out = append(out, evalSample{k, n}) })
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].k, out[j].k
		if a.flag != b.flag {
			return a.flag < b.flag
		}
		if a.variant != b.variant {
			return a.variant < b.variant
		}
		return a.reason < b.reason
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// BundleAge is how long ago the served bundle was issued, in seconds.
func BundleAge(st source.Status, now time.Time) float64 {
	if st.IssuedAt.IsZero() {
		return 0
	}
	return now.Sub(st.IssuedAt).Seconds()
}

// q quotes a label value (Prometheus escapes \, " and newline).
func q(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func fnum(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EMFNamespace is the CloudWatch namespace of edgefn's metrics.
const EMFNamespace = "edgeflag"

// WriteEMF writes one CloudWatch embedded-metric-format line (JSON) with
// dimensions Project and Environment: BundleAgeSeconds, BundleVersion,
// LastKnownGood, and the Requests, Evaluations and RefreshFailures counted
// since the previous line.
func (r *Registry) WriteEMF(w io.Writer, st source.Status, project, env string, now time.Time) error {
	var reqs, evals uint64
	for _, byStatus := range r.reqs {
		for i := range byStatus {
			reqs += byStatus[i].Load()
		}
	}
	r.evals.each(func(_ evalKey, n uint64) { evals += n })
	var fails uint64
	for _, n := range st.Failures {
		fails += n
	}
	r.emfMu.Lock()
	last := r.emfLast
	r.emfLast.at, r.emfLast.requests, r.emfLast.evals, r.emfLast.fails, r.emfLast.haveTotals = now, reqs, evals, fails, true
	r.emfMu.Unlock()
	if !last.haveTotals {
		last.requests, last.evals, last.fails = 0, 0, 0
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  EMFNamespace,
				"Dimensions": [][]string{{"Project", "Environment"}},
				"Metrics": []metric{
					{"BundleAgeSeconds", "Seconds"}, {"BundleVersion", "None"}, {"LastKnownGood", "None"},
					{"Requests", "Count"}, {"Evaluations", "Count"}, {"RefreshFailures", "Count"},
				},
			}},
		},
		"Project": project, "Environment": env,
		"BundleAgeSeconds": math.Round(BundleAge(st, now)*1000) / 1000,
		"BundleVersion":    st.Version,
		"LastKnownGood":    b2i(st.LastKnownGood()),
		"Requests":         reqs - last.requests,
		"Evaluations":      evals - last.evals,
		"RefreshFailures":  fails - last.fails,
	}
	data, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// LastEMF returns when WriteEMF last wrote (zero: never).
func (r *Registry) LastEMF() time.Time {
	r.emfMu.Lock()
	defer r.emfMu.Unlock()
	return r.emfLast.at
}
