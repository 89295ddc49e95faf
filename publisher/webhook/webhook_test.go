package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/webhook"
)

const secret = "whsec_example"

// receiver is a real HTTP endpoint that fails the first failFirst requests
// (with status failWith) and then accepts; it verifies every signature.
type receiver struct {
	t         *testing.T
	srv       *httptest.Server
	failFirst atomic.Int64 // <0: fail every request
	failWith  int
	requests  atomic.Int64
	badSigs   atomic.Int64
	mu        sync.Mutex
	events    []webhook.Event
	ids       []string
}

func newReceiver(t *testing.T, failFirst int64, failWith int) *receiver {
	r := &receiver{t: t, failWith: failWith}
	r.failFirst.Store(failFirst)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.requests.Add(1)
		body, _ := io.ReadAll(req.Body)
		if err := webhook.Verify([]byte(secret), req.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance); err != nil {
			r.badSigs.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev webhook.Event
		if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get(webhook.HeaderEvent) != ev.Type {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.ids = append(r.ids, req.Header.Get(webhook.HeaderDelivery))
		r.mu.Unlock()
		if ff := r.failFirst.Load(); ff < 0 || n <= ff {
			w.WriteHeader(r.failWith)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// fastDispatcher records backoff delays instead of sleeping and takes the
// top of each jitter window, so delays are deterministic.
func fastDispatcher(t *testing.T, withState bool) (*webhook.Dispatcher, *[]time.Duration) {
	var mu sync.Mutex
	var sleeps []time.Duration
	d := &webhook.Dispatcher{
		Sleep: func(ctx context.Context, dur time.Duration) error {
			mu.Lock()
			sleeps = append(sleeps, dur)
			mu.Unlock()
			return nil
		},
		Jitter: func(n int64) int64 { return n - 1 },
		Getenv: func(k string) (string, bool) {
			if k == "HOOK_SECRET" {
				return secret, true
			}
			return "", false
		},
	}
	if withState {
		fs, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		d.State = &webhook.State{Blob: fs, Project: "shop"}
	}
	return d, &sleeps
}

func event() webhook.Event {
	return webhook.Event{
		Type: webhook.EventPublish, Project: "shop", Environment: "production",
		FromVersion: 6, ToVersion: 7, Digests: map[string]string{"server": "ab"},
		Actor: "ci", Reason: "release", At: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Summary: []string{"flag x: on"},
	}
}

func hook(url string) webhook.Hook {
	return webhook.Hook{Name: "relay", URL: url, Secret: "env:HOOK_SECRET", Events: []string{"publish", "rollback"}}
}

func TestDeliverRetriesUntilSuccess(t *testing.T) {
	r := newReceiver(t, 3, http.StatusServiceUnavailable)
	d, sleeps := fastDispatcher(t, false)
	res := d.Deliver(context.Background(), hook(r.srv.URL), event())
	if res.Err != nil || res.Attempts != 4 || res.Status != http.StatusNoContent {
		t.Fatalf("result %+v; want success on attempt 4", res)
	}
	if r.requests.Load() != 4 || r.badSigs.Load() != 0 {
		t.Errorf("receiver saw %d requests, %d bad signatures", r.requests.Load(), r.badSigs.Load())
	}
	// Full jitter takes the top of windows 500ms, 1s, 2s (Jitter = n-1).
	want := []time.Duration{500*time.Millisecond - 1, time.Second - 1, 2*time.Second - 1}
	if len(*sleeps) != len(want) {
		t.Fatalf("sleeps %v, want %v", *sleeps, want)
	}
	for i := range want {
		if (*sleeps)[i] != want[i] {
			t.Errorf("sleep %d = %v, want %v", i, (*sleeps)[i], want[i])
		}
	}
	for _, id := range r.ids {
		if id != res.DeliveryID || id == "" {
			t.Errorf("delivery id %q on a retry, want the delivery's %q", id, res.DeliveryID)
		}
	}
	if got := r.events[3]; got.ToVersion != 7 || got.Actor != "ci" || got.Summary[0] != "flag x: on" {
		t.Errorf("payload %+v", got)
	}
}

func TestDeliverGivesUpAfterFiveRetries(t *testing.T) {
	r := newReceiver(t, -1, http.StatusInternalServerError)
	d, sleeps := fastDispatcher(t, false)
	res := d.Deliver(context.Background(), hook(r.srv.URL), event())
	if res.Err == nil || res.Attempts != 6 || r.requests.Load() != 6 {
		t.Fatalf("result %+v, %d requests; want failure after 1+5 attempts", res, r.requests.Load())
	}
	if len(*sleeps) != 5 || (*sleeps)[4] != 8*time.Second-1 {
		t.Errorf("sleeps %v; want 5, the last in an 8s window", *sleeps)
	}
	if !strings.Contains(res.Err.Error(), "500") {
		t.Errorf("error %v does not name the status", res.Err)
	}
}

func TestDeliverDoesNotRetryClientErrors(t *testing.T) {
	r := newReceiver(t, -1, http.StatusGone)
	d, _ := fastDispatcher(t, false)
	res := d.Deliver(context.Background(), hook(r.srv.URL), event())
	if res.Err == nil || res.Attempts != 1 || res.Status != http.StatusGone {
		t.Fatalf("result %+v; want one failed attempt", res)
	}
}

func TestBackoffCapped(t *testing.T) {
	d := &webhook.Dispatcher{Jitter: func(n int64) int64 { return n - 1 }, MaxDelay: 3 * time.Second}
	for n, want := range map[int]time.Duration{1: 500*time.Millisecond - 1, 3: 2*time.Second - 1, 4: 3*time.Second - 1, 60: 3*time.Second - 1} {
		if got := d.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	d.Jitter = nil
	for i := 0; i < 100; i++ {
		if got := d.Backoff(2); got < 0 || got >= time.Second {
			t.Fatalf("random Backoff(2) = %v, want in [0, 1s)", got)
		}
	}
}

// TestAutoDisableAndReset: 9 failed deliveries, a success resets the count;
// then 10 consecutive failures disable the hook, which is then skipped (the
// receiver sees nothing), reported by Disabled, and enabled again by a
// config change or by Enable.
func TestAutoDisableAndReset(t *testing.T) {
	failing := newReceiver(t, -1, http.StatusBadGateway)
	ok := newReceiver(t, 0, 0)
	d, _ := fastDispatcher(t, true)
	d.MaxRetries = -1 // one attempt per delivery keeps the count easy to read
	ctx := context.Background()
	fire := func(h webhook.Hook) webhook.Result {
		t.Helper()
		res, err := d.Fire(ctx, []webhook.Hook{h}, event())
		if err != nil || len(res) != 1 {
			t.Fatalf("Fire = %+v, %v", res, err)
		}
		return res[0]
	}
	bad := hook(failing.srv.URL)
	for i := 1; i <= 9; i++ {
		if r := fire(bad); r.Err == nil || r.ConsecutiveFailures != i || r.Disabled {
			t.Fatalf("failure %d: %+v", i, r)
		}
	}
	// The same hook name now pointing at a working URL is a config change;
	// to test reset-by-success keep the fingerprint: swap the receiver's
	// behaviour instead.
	failing.failFirst.Store(failing.requests.Load()) // next request succeeds
	if r := fire(bad); r.Err != nil || r.ConsecutiveFailures != 0 {
		t.Fatalf("success after 9 failures: %+v", r)
	}
	failing.failFirst.Store(-1)
	for i := 1; i <= 10; i++ {
		r := fire(bad)
		if r.ConsecutiveFailures != i || r.Disabled != (i == 10) {
			t.Fatalf("failure %d after reset: %+v", i, r)
		}
	}
	before := failing.requests.Load()
	if r := fire(bad); !r.Skipped || !r.Disabled || r.Attempts != 0 {
		t.Fatalf("disabled hook fired: %+v", r)
	}
	if failing.requests.Load() != before {
		t.Error("a disabled hook reached the receiver")
	}
	names, err := d.State.Disabled(ctx, []webhook.Hook{bad})
	if err != nil || len(names) != 1 || names[0] != "relay" {
		t.Fatalf("Disabled = %v, %v", names, err)
	}
	sts, _ := d.State.Statuses(ctx, []webhook.Hook{bad})
	if sts[0].ConsecutiveFailures != 10 || sts[0].DisabledAt.IsZero() || !strings.Contains(sts[0].LastError, "502") {
		t.Errorf("status %+v", sts[0])
	}
	// A config change (here: the URL) re-enables it.
	fixed := hook(ok.srv.URL)
	if names, _ := d.State.Disabled(ctx, []webhook.Hook{fixed}); len(names) != 0 {
		t.Errorf("changed hook still reported disabled: %v", names)
	}
	if r := fire(fixed); r.Err != nil || r.Skipped || ok.requests.Load() != 1 {
		t.Fatalf("changed hook: %+v", r)
	}
	// Enable by hand.
	for i := 0; i < 10; i++ {
		fire(bad)
	}
	if r := fire(bad); !r.Skipped {
		t.Fatalf("not disabled again: %+v", r)
	}
	if err := d.State.Enable(ctx, "relay"); err != nil {
		t.Fatal(err)
	}
	if r := fire(bad); r.Skipped || r.ConsecutiveFailures != 1 {
		t.Fatalf("after Enable: %+v", r)
	}
}

func TestFireFiltersAndCountsConcurrently(t *testing.T) {
	r := newReceiver(t, -1, http.StatusInternalServerError)
	d, _ := fastDispatcher(t, true)
	d.MaxRetries = -1
	ctx := context.Background()
	var hooks []webhook.Hook
	for _, n := range []string{"a", "b", "c", "d"} {
		h := hook(r.srv.URL)
		h.Name = n
		hooks = append(hooks, h)
	}
	hooks[2].Events = []string{"rollback"}
	hooks[3].Environments = []string{"staging"}
	for i := 0; i < 3; i++ {
		res, err := d.Fire(ctx, hooks, event())
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res[0].Hook != "a" || res[1].Hook != "b" {
			t.Fatalf("fired %+v; want a and b only", res)
		}
	}
	sts, err := d.State.Statuses(ctx, hooks)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		want := 0
		if st.Name == "a" || st.Name == "b" {
			want = 3
		}
		if st.ConsecutiveFailures != want {
			t.Errorf("%s: %d failures, want %d (no increment lost to concurrent updates)", st.Name, st.ConsecutiveFailures, want)
		}
	}
}

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"type":"publish","project":"shop"}`)
	// Expected value computed independently with
	//   printf '%s' '1700000000.{"type":"publish","project":"shop"}' | openssl dgst -sha256 -hmac whsec_example
	want := "t=1700000000,v1=781cb0ebdb5e64d6ef885d740110f51dbec2661c9b1f8e1585969e46b37279f2"
	if got := webhook.Sign([]byte(secret), 1700000000, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	at := time.Unix(1700000000, 0)
	if err := webhook.Verify([]byte(secret), want, body, at.Add(time.Minute), webhook.DefaultTolerance); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Rotation: any matching v1 is accepted.
	if err := webhook.Verify([]byte(secret), "t=1700000000,v1="+strings.Repeat("00", 32)+","+want[len("t=1700000000,"):], body, at, time.Minute); err != nil {
		t.Errorf("Verify with two v1: %v", err)
	}
	bad := map[string]struct {
		header string
		body   string
		now    time.Time
	}{
		"tampered body": {want, `{"type":"publish","project":"shoq"}`, at},
		"replayed":      {want, string(body), at.Add(6 * time.Minute)},
		"future":        {want, string(body), at.Add(-6 * time.Minute)},
		"no v1":         {"t=1700000000", string(body), at},
		"no t":          {want[len("t=1700000000,"):], string(body), at},
		"short v1":      {"t=1700000000,v1=abcd", string(body), at},
		"garbage":       {"hello", string(body), at},
		"other secret":  {webhook.Sign([]byte("other"), 1700000000, body), string(body), at},
	}
	for name, c := range bad {
		if err := webhook.Verify([]byte(secret), c.header, []byte(c.body), c.now, webhook.DefaultTolerance); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	os.WriteFile(p, []byte("from-file\n"), 0o600)
	getenv := func(k string) (string, bool) { return map[string]string{"S": "from-env"}[k], k == "S" }
	for ref, want := range map[string]string{"env:S": "from-env", "file:" + p: "from-file"} {
		got, err := webhook.ResolveSecret(ref, getenv, os.ReadFile)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, ref := range []string{"env:MISSING", "file:" + filepath.Join(dir, "none"), "inline-secret-value", "vault:x", "env:"} {
		_, err := webhook.ResolveSecret(ref, getenv, os.ReadFile)
		if err == nil {
			t.Errorf("%q: resolved", ref)
			continue
		}
		if strings.Contains(err.Error(), "inline-secret-value") {
			t.Errorf("error leaks the value: %v", err)
		}
	}
	// A delivery whose secret is missing fails without a request.
	r := newReceiver(t, 0, 0)
	d, _ := fastDispatcher(t, false)
	h := hook(r.srv.URL)
	h.Secret = "env:NOPE"
	if res := d.Deliver(context.Background(), h, event()); res.Err == nil || res.Attempts != 0 || r.requests.Load() != 0 {
		t.Errorf("missing secret: %+v", res)
	}
}

// A file:PATH secret is read only from a regular file of bounded size: a
// FIFO (which would block the read forever), a device and an oversized
// file fail the delivery at once, without a request.
func TestSecretFileBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, webhook.MaxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t, 0, 0)
	d, _ := fastDispatcher(t, false) // ReadFile nil: the default reader
	for path, want := range map[string]string{fifo: "not a regular file (a named pipe)", "/dev/zero": "not a regular file (a character device)", big: "file too large"} {
		h := hook(r.srv.URL)
		h.Secret = "file:" + path
		done := make(chan webhook.Result, 1)
		go func() { done <- d.Deliver(context.Background(), h, event()) }()
		select {
		case res := <-done:
			if res.Err == nil || !strings.Contains(res.Err.Error(), want) || res.Attempts != 0 {
				t.Errorf("secret %s: %+v, want an error with %q", path, res, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("secret %s: delivery blocked", path)
		}
	}
	if r.requests.Load() != 0 {
		t.Errorf("%d requests sent with an unreadable secret", r.requests.Load())
	}
}

// A secret that cannot be resolved on this machine fails the delivery
// without a request and without touching the shared failure count: twelve
// such deliveries leave the hook enabled for everyone, and its count where
// the receiver's real answers put it.
func TestUnresolvedSecretDoesNotCount(t *testing.T) {
	r := newReceiver(t, -1, http.StatusInternalServerError)
	d, _ := fastDispatcher(t, true)
	d.MaxRetries = -1
	good := hook(r.srv.URL)
	if res, _ := d.Fire(context.Background(), []webhook.Hook{good}, event()); res[0].ConsecutiveFailures != 1 || res[0].Local {
		t.Fatalf("a real failure: %+v", res[0])
	}
	// The same hook, on a machine where its secret's variable is unset.
	missing := good
	d.Getenv = func(string) (string, bool) { return "", false }
	for i := 0; i < 12; i++ {
		res, err := d.Fire(context.Background(), []webhook.Hook{missing}, event())
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Local || res[0].Disabled || res[0].ConsecutiveFailures != 1 || res[0].Attempts != 0 {
			t.Fatalf("delivery %d without a secret: %+v", i, res[0])
		}
	}
	sts, err := d.State.Statuses(context.Background(), []webhook.Hook{good})
	if err != nil || sts[0].Disabled || sts[0].ConsecutiveFailures != 1 || !strings.Contains(sts[0].LastError, "500") {
		t.Errorf("shared state after local failures: %+v, %v", sts, err)
	}
	if r.requests.Load() != 1 {
		t.Errorf("%d requests, want the one real attempt", r.requests.Load())
	}
}

func TestCanceledContextStopsRetries(t *testing.T) {
	r := newReceiver(t, -1, http.StatusServiceUnavailable)
	d, _ := fastDispatcher(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	d.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	res := d.Deliver(ctx, hook(r.srv.URL), event())
	if !errors.Is(res.Err, context.Canceled) || res.Attempts != 1 {
		t.Fatalf("result %+v; want canceled after one attempt", res)
	}
}

func TestFireManyHooksKeepsEveryResult(t *testing.T) {
	r := newReceiver(t, 0, 0)
	d, _ := fastDispatcher(t, true)
	var hooks []webhook.Hook
	for i := 0; i < 20; i++ {
		h := hook(r.srv.URL)
		h.Name = string(rune('a' + i))
		hooks = append(hooks, h)
	}
	res, err := d.Fire(context.Background(), hooks, event())
	if err != nil || len(res) != 20 {
		t.Fatalf("Fire = %d results, %v", len(res), err)
	}
	for i, x := range res {
		if x.Hook != hooks[i].Name || x.Err != nil || x.Attempts != 1 || x.DeliveryID == "" {
			t.Errorf("result %d: %+v", i, x)
		}
	}
	if r.requests.Load() != 20 {
		t.Errorf("receiver saw %d requests, want 20", r.requests.Load())
	}
}
