package client_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
)

// TestBackgroundRefresh: Start refreshes at once and then periodically,
// picks up a new version and announces it on Changed; Close stops the loop
// and leaves no goroutine behind (the loop, the HTTP connections).
func TestBackgroundRefresh(t *testing.T) {
	f := newFixture(t)
	iat := time.Now().Add(-time.Hour)
	f.srv.Set(f.sealAt(f.key, 1, iat), 0, false)
	before := runtime.NumGoroutine()
	cfg := f.config()
	cfg.Now = nil // real time: the loop's timers are real
	cfg.RefreshInterval = 20 * time.Millisecond
	cfg.Rand = nil
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := c.Changed()
	c.Start()
	c.Start() // a second Start does nothing
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no change announced after Start")
	}
	if st := c.Status(); st.Serving != client.ServingFresh || st.Version != 1 {
		t.Fatalf("after the first refresh: %+v", st)
	}
	changed = c.Changed()
	f.srv.Set(f.sealAt(f.key, 2, iat), 0, false)
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("version 2 not announced")
	}
	if v := c.Status().Version; v != 2 {
		t.Fatalf("version %d after the change", v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, _, _ := f.srv.Counts(); n < 4; n, _, _ = f.srv.Counts() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests in 10s with a 20ms interval", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.Close() // idempotent
	stopped, _, _ := f.srv.Counts()
	time.Sleep(60 * time.Millisecond)
	if n, _, _ := f.srv.Counts(); n != stopped {
		t.Fatalf("%d requests after Close", n-stopped)
	}
	if err := c.Refresh(t.Context()); err != client.ErrClosed {
		t.Fatalf("Refresh after Close: %v", err)
	}
	if !c.BoolValue("new-checkout", false, pro) {
		t.Fatal("evaluations stopped after Close")
	}
	// Goroutines end asynchronously (the transport's connection readers
	// notice the closed connections): wait for the count to come back.
	deadline = time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseDuringRefresh: Close aborts a refresh in flight (a server that
// never answers) and returns promptly.
func TestCloseDuringRefresh(t *testing.T) {
	f := newFixture(t)
	block := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(block)
	cfg := f.config()
	cfg.URL = hung.URL + "/v1/flags"
	cfg.Now, cfg.Timeout = nil, time.Hour
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	time.Sleep(20 * time.Millisecond) // let the refresh reach the server
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked behind a hung refresh")
	}
	if st := c.Status(); st.ConsecutiveFailures != 0 {
		t.Fatalf("an aborted refresh counted as a failure: %+v", st)
	}
}

// TestTypedValues: each typed getter returns the engine's value, or the
// default on a type mismatch or a missing flag; objects are copies.
func TestTypedValues(t *testing.T) {
	f := newFixture(t)
	f.srv.Set(f.bundle(1), 0, false)
	c := f.open(f.config())
	if r := refresh(t, c); r != "" {
		t.Fatal(r)
	}
	young := map[string]any{"targetingKey": "u-2", "age": 18}
	if c.BoolValue("new-checkout", true, map[string]any{"plan": "free"}) {
		t.Error("bool: new-checkout on for free")
	}
	if v := c.StringValue("button-color", "", pro); v != "#1a73e8" && v != "#188038" {
		t.Errorf("string: %q", v)
	}
	if v := c.NumberValue("retry-limit", -1, young); v != 0 {
		t.Errorf("number: %v", v)
	}
	if v := c.IntValue("retry-limit", -1, nil); v != 2 {
		t.Errorf("int: %v", v)
	}
	banner := map[string]any{"show": true, "title": "Spring sale", "discountPercent": 20.0}
	got := c.ObjectValue("banner", nil, map[string]any{"country": "US"})
	if !reflect.DeepEqual(got, banner) {
		t.Errorf("object: %#v", got)
	}
	got.(map[string]any)["title"] = "changed by the caller"
	if again := c.ObjectValue("banner", nil, map[string]any{"country": "US"}); !reflect.DeepEqual(again, banner) {
		t.Errorf("a caller's change reached the engine: %#v", again)
	}
	if c.BoolValue("button-color", true, pro) != true || c.StringValue("missing", "d", nil) != "d" {
		t.Error("defaults on mismatch or missing flag")
	}
	if r := c.EvaluateType("button-color", ir.TypeBoolean, pro); r.ErrorCode != "TYPE_MISMATCH" || r.Value != nil {
		t.Errorf("EvaluateType mismatch: %+v", r)
	}
	// A split without a targeting key serves the default variant and says so.
	if r := c.Evaluate("button-color", map[string]any{}); r.ErrorCode != "TARGETING_KEY_MISSING" || r.Value != "#1a73e8" {
		t.Errorf("split without a targeting key: %+v", r)
	}
	all := c.EvaluateAll(pro)
	if len(all) != 6 || all[0].Key != "banner" || all[0].Serving != client.ServingFresh {
		t.Errorf("EvaluateAll: %+v", all)
	}
	if _, ok := client.AsInt(2.5); ok {
		t.Error("AsInt(2.5) succeeded")
	}
}
