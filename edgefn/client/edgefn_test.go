package client_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
)

// statusRecorder records the status codes the client receives.
type statusRecorder struct {
	mu    sync.Mutex
	codes []int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.codes = append(r.codes, resp.StatusCode)
		r.mu.Unlock()
	}
	return resp, err
}

func (r *statusRecorder) last() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.codes) == 0 {
		return 0
	}
	return r.codes[len(r.codes)-1]
}

// staff is a context examples/shop serves new-checkout "on" for (rule
// staff).
var staff = map[string]any{"targetingKey": "user-123", "email": "ana@example.com", "plan": "pro", "country": "US", "age": 34}

// TestEdgefnServeFlags: the client syncs the server bundle from a real
// edgefn's /v1/flags with an API key, gets 304s while nothing changes,
// follows a new publish, and serves its cache when edgefn is gone.
func TestEdgefnServeFlags(t *testing.T) {
	s := clienttest.StartEdgefnT(t)
	rec := &statusRecorder{}
	cfg := client.Config{URL: s.URL + "/v1/flags", APIKey: s.APIKey, JWKS: s.JWKS, Project: "shop", Environment: "production",
		CacheDir: filepath.Join(s.Dir(), "client-cache"), HTTPClient: &http.Client{Transport: rec}}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := refresh(t, c); r != "" {
		t.Fatalf("refresh: %q %+v", r, c.Status())
	}
	if st := c.Status(); st.Serving != client.ServingFresh || st.Version != 1 || rec.last() != 200 {
		t.Fatalf("status %+v (last HTTP status %d)", st, rec.last())
	}
	r := c.Evaluate("new-checkout", staff)
	if r.Value != true || r.RuleID != "staff" || r.Reason != "TARGETING_MATCH" {
		t.Fatalf("new-checkout for staff: %+v", r)
	}
	if v := c.IntValue("payment-retry-limit", -1, staff); v != 5 { // a server-only flag
		t.Fatalf("payment-retry-limit: %d", v)
	}
	if r := refresh(t, c); r != "" || rec.last() != http.StatusNotModified {
		t.Fatalf("unchanged refresh: %q, HTTP %d", r, rec.last())
	}
	if err := s.Publish(); err != nil { // version 2; edgefn picks it up within its refresh interval
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.Status().Version != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("version 2 never reached the client: %+v", c.Status())
		}
		time.Sleep(100 * time.Millisecond)
		refresh(t, c)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("refresh with edgefn stopped: %q", r)
	}
	c.Close()
	c2, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if st := c2.Status(); st.Serving != client.ServingLastKnownGood || st.Version != 2 || st.Origin != "cache" || !c2.BoolValue("new-checkout", false, staff) {
		t.Fatalf("restart without edgefn: %+v", st)
	}
}

// TestEdgefnServeBootstrap: the client fetches the client bundle from a
// real edgefn's /v1/bootstrap with a client token minted by /v1/tokens and
// evaluates client-side flags locally; server-only flags are not in it.
func TestEdgefnServeBootstrap(t *testing.T) {
	s := clienttest.StartEdgefnT(t)
	tokens := 0
	cfg := client.Config{URL: s.URL + "/v1/bootstrap", JWKS: s.JWKS, Project: "shop", Environment: "production",
		CacheDir: filepath.Join(s.Dir(), "app-cache"),
		Token:    func(ctx context.Context) (string, error) { tokens++; return s.Token(ctx) }}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := refresh(t, c); r != "" {
		t.Fatalf("refresh: %q %s", r, c.Status().LastError)
	}
	if r := refresh(t, c); r != "" || tokens != 2 {
		t.Fatalf("second refresh: %q, %d tokens asked for", r, tokens)
	}
	if st := c.Status(); st.Serving != client.ServingFresh || st.Version != 1 {
		t.Fatalf("status %+v", st)
	}
	if !c.BoolValue("new-checkout", false, staff) {
		t.Fatal("new-checkout is off for staff from the client bundle")
	}
	if r := c.Evaluate("payment-retry-limit", staff); r.ErrorCode != "FLAG_NOT_FOUND" {
		t.Fatalf("a server-only flag in the client bundle: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "app-cache", "shop.production.client.lkg.json")); err != nil {
		t.Fatalf("no client cache: %v", err)
	}
}
