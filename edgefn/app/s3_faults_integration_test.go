//go:build integration

package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
	"github.com/edgeflag/edgeflag/edgefn/internal/s3fault"
)

type health struct {
	Status        string `json:"status"`
	Version       uint64 `json:"version"`
	Origin        string `json:"origin"`
	LastKnownGood bool   `json:"lastKnownGood"`
	LastFailure   string `json:"lastFailure"`
}

func readHealth(t *testing.T, base string) health {
	t.Helper()
	var h health
	if err := json.Unmarshal([]byte(get(t, base+"/healthz")), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitHealth polls /healthz until ok accepts it (15 s at most).
func waitHealth(t *testing.T, r *running, what string, ok func(health) bool) health {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h := readHealth(t, r.url)
		if ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /healthz stayed %+v\n%s", what, h, r.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getWithKey(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestServeS3Faults: edgefn serve reading a real S3 server (versitygw)
// through a proxy that makes it fail. A store answering 500s, a store
// that drops connections and a store slower than the refresh timeout
// each leave edgefn serving the last-known-good bundle, saying so in
// /healthz (degraded, the failure reason) and in the metrics; a restart
// while the store is down starts from the local copy; once the store
// answers again, the next refresh recovers and installs a new version.
func TestServeS3Faults(t *testing.T) {
	store := s3URL(t)
	e := devenv.New(t, "../../examples/shop", "shop", "production", store)
	e.Publish()
	p, err := s3fault.Start(os.Getenv("EDGEFLAG_S3_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	through, err := p.StoreURL(store)
	if err != nil {
		t.Fatal(err)
	}
	args := e.ServeArgs("--store", through, "--cache-dir", filepath.Join(e.Dir, "cache"),
		"--refresh-interval", "1s", "--refresh-timeout", "500ms")
	r := serve(t, e.Dir, args)
	if h := readHealth(t, r.url); h.Status != "ok" || h.Version != 1 || h.Origin != "store" {
		t.Fatalf("from S3: %+v", h)
	}
	for _, c := range []struct {
		name   string
		mode   s3fault.Mode
		reason string
	}{
		{"500s", s3fault.Fail, "store"},
		{"connections dropped", s3fault.Drop, "store"},
		{"slower than the refresh timeout", s3fault.Stall, "timeout"},
	} {
		p.Set(c.mode)
		h := waitHealth(t, r, c.name, func(h health) bool { return h.LastFailure == c.reason })
		if h.Status != "degraded" || !h.LastKnownGood || h.Version != 1 {
			t.Errorf("%s: %+v", c.name, h)
		}
		checkNewCheckout(t, r.url)
		p.Set(s3fault.Pass)
		waitHealth(t, r, c.name+", recovered", func(h health) bool { return h.Status == "ok" })
	}
	metrics := getWithKey(t, r.url+"/metrics")
	for _, want := range []string{`edgefn_refresh_failures_total{reason="store"}`, `edgefn_refresh_failures_total{reason="timeout"}`, "edgefn_last_known_good 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	// Down at start: the local copy is served until the store is back.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	p.Set(s3fault.Drop)
	os.Remove(e.ReadyFile())
	r2 := serve(t, e.Dir, args)
	if h := readHealth(t, r2.url); h.Origin != "cache" || h.Status != "degraded" || h.Version != 1 {
		t.Fatalf("restart with the store down: %+v", h)
	}
	checkNewCheckout(t, r2.url)
	p.Set(s3fault.Pass)
	e.Publish()
	waitHealth(t, r2, "store back with version 2", func(h health) bool { return h.Version == 2 && h.Status == "ok" })
}
