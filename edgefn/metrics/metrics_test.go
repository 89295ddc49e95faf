package metrics_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/metrics"
	"github.com/edgeflag/edgeflag/edgefn/source"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func status() source.Status {
	return source.Status{Version: 7, IssuedAt: now.Add(-90 * time.Second), ExpiresAt: now.Add(time.Hour),
		LastSuccess: now.Add(-5 * time.Second), LastFailure: "ErrSignature", ConsecutiveFailures: 2,
		Failures: map[string]uint64{"ErrSignature": 2, "timeout": 1}, Refreshes: map[string]uint64{"updated": 1}}
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)\})? (-?[0-9.e+-]+|NaN)$`)

func TestPrometheusText(t *testing.T) {
	r := metrics.New([]string{"ofrep", "evaluate"})
	r.Evaluation("new-checkout", "on", "TARGETING_MATCH")
	r.Evaluation("new-checkout", "on", "TARGETING_MATCH")
	r.Evaluation("", "", "ERROR")
	r.Evaluation(`we"ird`, "x\ny", "DEFAULT")
	r.Request("ofrep", 200, 300*time.Microsecond)
	r.Request("ofrep", 200, 3*time.Millisecond)
	r.Request("ofrep", 404, time.Millisecond)
	r.Request("nope", 404, time.Millisecond)
	r.RateLimited("ofrep")
	var b bytes.Buffer
	if err := r.WritePrometheus(&b, status(), now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	typed := map[string]string{}
	values := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			typed[f[2]] = f[3]
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("bad exposition line %q", line)
		}
		fam := m[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(fam, suf); base != fam && typed[base] == "histogram" {
				fam = base
			}
		}
		if typed[fam] == "" {
			t.Fatalf("sample %q before its TYPE line", line)
		}
		values[m[1]+m[2]] = m[5]
	}
	want := map[string]string{
		`edgefn_evaluations_total{flag="new-checkout",variant="on",reason="TARGETING_MATCH"}`: "2",
		`edgefn_evaluations_total{flag="",variant="",reason="ERROR"}`:                         "1",
		`edgefn_evaluations_total{flag="we\"ird",variant="x\ny",reason="DEFAULT"}`:            "1",
		`edgefn_requests_total{route="ofrep",status="200"}`:                                   "2",
		`edgefn_requests_total{route="other",status="404"}`:                                   "1",
		`edgefn_request_duration_seconds_bucket{route="ofrep",le="0.0005"}`:                   "1",
		`edgefn_request_duration_seconds_bucket{route="ofrep",le="0.001"}`:                    "2",
		`edgefn_request_duration_seconds_bucket{route="ofrep",le="+Inf"}`:                     "3",
		`edgefn_request_duration_seconds_count{route="ofrep"}`:                                "3",
		`edgefn_request_duration_seconds_sum{route="ofrep"}`:                                  "0.0043",
		`edgefn_rate_limited_total{route="ofrep"}`:                                            "1",
		`edgefn_bundle_version`:                                "7",
		`edgefn_bundle_age_seconds`:                            "90",
		`edgefn_bundle_expires_in_seconds`:                     "3600",
		`edgefn_last_known_good`:                               "1",
		`edgefn_refresh_consecutive_failures`:                  "2",
		`edgefn_refresh_last_success_age_seconds`:              "5",
		`edgefn_refresh_failures_total{reason="ErrSignature"}`: "2",
		`edgefn_refresh_failures_total{reason="timeout"}`:      "1",
		`edgefn_refreshes_total{outcome="updated"}`:            "1",
	}
	for k, v := range want {
		if values[k] != v {
			t.Errorf("%s = %q, want %q", k, values[k], v)
		}
	}
	// The runtime's figures are there and plausible.
	for _, name := range []string{"edgefn_go_goroutines", "edgefn_go_heap_objects_bytes", "edgefn_go_memory_bytes"} {
		if n, err := strconv.ParseUint(values[name], 10, 64); err != nil || n == 0 {
			t.Errorf("%s = %q", name, values[name])
		}
	}
	if _, ok := values["edgefn_go_gc_cycles_total"]; !ok || typed["edgefn_go_gc_cycles_total"] != "counter" {
		t.Errorf("edgefn_go_gc_cycles_total missing")
	}
	// Buckets are cumulative.
	prev := -1
	for _, ub := range metrics.LatencyBuckets {
		n, _ := strconv.Atoi(values[`edgefn_request_duration_seconds_bucket{route="ofrep",le="`+strconv.FormatFloat(ub, 'g', -1, 64)+`"}`])
		if n < prev {
			t.Fatalf("bucket le=%v = %d below the previous %d", ub, n, prev)
		}
		prev = n
	}
}

func TestEMF(t *testing.T) {
	r := metrics.New([]string{"ofrep"})
	r.Request("ofrep", 200, time.Millisecond)
	r.Evaluation("f", "on", "STATIC")
	var b bytes.Buffer
	if err := r.WriteEMF(&b, status(), "shop", "production", now); err != nil {
		t.Fatal(err)
	}
	r.Request("ofrep", 200, time.Millisecond)
	st := status()
	st.Failures["timeout"]++
	if err := r.WriteEMF(&b, st, "shop", "production", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	type emf struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Project, Environment                                          string
		BundleAgeSeconds                                              float64
		BundleVersion, LastKnownGood, Requests, Evaluations, Failures int
		RefreshFailures                                               int
	}
	var e1, e2 emf
	if err := json.Unmarshal([]byte(lines[0]), &e1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &e2); err != nil {
		t.Fatal(err)
	}
	cw := e1.AWS.CloudWatchMetrics[0]
	if e1.AWS.Timestamp != now.UnixMilli() || cw.Namespace != "edgeflag" || len(cw.Dimensions) != 1 ||
		strings.Join(cw.Dimensions[0], ",") != "Project,Environment" || cw.Metrics[0].Name != "BundleAgeSeconds" || cw.Metrics[0].Unit != "Seconds" {
		t.Fatalf("EMF envelope %s", lines[0])
	}
	if e1.Project != "shop" || e1.Environment != "production" || e1.BundleAgeSeconds != 90 || e1.BundleVersion != 7 || e1.LastKnownGood != 1 ||
		e1.Requests != 1 || e1.Evaluations != 1 || e1.RefreshFailures != 3 {
		t.Fatalf("first line %s", lines[0])
	}
	// Counts are deltas since the previous line.
	if e2.Requests != 1 || e2.Evaluations != 0 || e2.RefreshFailures != 1 || e2.BundleAgeSeconds != 150 {
		t.Fatalf("second line %s", lines[1])
	}
	if !r.LastEMF().Equal(now.Add(time.Minute)) {
		t.Errorf("LastEMF %v", r.LastEMF())
	}
}

// TestEvaluationsConcurrent: the batch counter and the single one count
// into the same series, from many goroutines at once (go test -race), and
// new (flag, variant, reason) triples appear while others are counted.
func TestEvaluationsConcurrent(t *testing.T) {
	r := metrics.New([]string{"ofrep_bulk"})
	flags := []string{"a", "b", "c"}
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 500; i++ {
				r.Evaluations(len(flags), func(j int) (string, string, string) {
					return flags[j], "v" + strconv.Itoa(i%3), "SPLIT"
				})
				r.Evaluation("a", "v0", "SPLIT")
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	var b bytes.Buffer
	if err := r.WritePrometheus(&b, status(), now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// i%3 over 500 iterations: 167, 167, 166 times. a/v0: 8 x (167 + 500).
	for _, want := range []string{
		`edgefn_evaluations_total{flag="a",variant="v0",reason="SPLIT"} 5336`,
		`edgefn_evaluations_total{flag="b",variant="v1",reason="SPLIT"} 1336`,
		`edgefn_evaluations_total{flag="c",variant="v2",reason="SPLIT"} 1328`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
