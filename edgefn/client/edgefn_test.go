package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/app"
	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/publisher/cli"
)

// edgefnServer is a real `edgefn serve` (app.Env.Run, in-process) serving
// examples/shop as published by the real CLI.
type edgefnServer struct {
	t       *testing.T
	dir     string
	url     string
	jwks    []byte
	key     string // an API key with flags:read and tokens:issue
	publish func()
	stop    func()
}

func startEdgefn(t *testing.T) *edgefnServer {
	dir := t.TempDir()
	s := &edgefnServer{t: t, dir: dir, key: "efk_offline-client-test"}
	edgeflag := func(args ...string) {
		t.Helper()
		var errOut bytes.Buffer
		if code := cli.Main(context.Background(), args, nil, io.Discard, &errOut, func(string) string { return "" }); code != 0 {
			t.Fatalf("edgeflag %v: exit %d: %s", args, code, errOut.String())
		}
	}
	edgeflag("keygen", "--out", filepath.Join(dir, "signing.key"))
	edgeflag("keygen", "--out", filepath.Join(dir, "token.key"))
	s.publish = func() {
		edgeflag("publish", "../../examples/shop", "--env", "production", "--key", filepath.Join(dir, "signing.key"),
			"--store", "file://"+filepath.Join(dir, "store"), "--reason", "test", "--actor", "test")
	}
	s.publish()
	sum := sha256.Sum256([]byte(s.key))
	if err := os.WriteFile(filepath.Join(dir, "api-keys.yaml"), []byte("keys:\n  - name: app\n    sha256: "+
		hex.EncodeToString(sum[:])+"\n    scopes: [flags:read, tokens:issue]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.jwks, err = os.ReadFile(filepath.Join(dir, "signing.key.jwks.json")); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready")
	args := []string{"serve", "--store", "file://" + filepath.Join(dir, "store"), "--project", "shop", "--env", "production",
		"--jwks", filepath.Join(dir, "signing.key.jwks.json"), "--api-keys", filepath.Join(dir, "api-keys.yaml"),
		"--token-key", filepath.Join(dir, "token.key"), "--addr", "127.0.0.1:0", "--ready-file", ready, "--refresh-interval", "1s"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&app.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}).Run(ctx, args)
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("edgefn serve did not stop")
			}
		})
	}
	t.Cleanup(s.stop)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(ready); err == nil && len(data) > 0 {
			s.url = strings.TrimSpace(string(data))
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("edgefn serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("edgefn serve not ready after 15s")
		}
	}
}

// token mints a client token for user-123 with scope bootstrap.
func (s *edgefnServer) token(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/tokens",
		strings.NewReader(`{"subject":"user-123","scopes":["bootstrap"],"ttlSeconds":600}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return "", err
	}
	return out.Token, nil
}

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
	s := startEdgefn(t)
	rec := &statusRecorder{}
	cfg := client.Config{URL: s.url + "/v1/flags", APIKey: s.key, JWKS: s.jwks, Project: "shop", Environment: "production",
		CacheDir: filepath.Join(s.dir, "client-cache"), HTTPClient: &http.Client{Transport: rec}}
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
	s.publish() // version 2; edgefn picks it up within its refresh interval
	deadline := time.Now().Add(15 * time.Second)
	for c.Status().Version != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("version 2 never reached the client: %+v", c.Status())
		}
		time.Sleep(100 * time.Millisecond)
		refresh(t, c)
	}
	s.stop()
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
	s := startEdgefn(t)
	tokens := 0
	cfg := client.Config{URL: s.url + "/v1/bootstrap", JWKS: s.jwks, Project: "shop", Environment: "production",
		CacheDir: filepath.Join(s.dir, "app-cache"),
		Token:    func(ctx context.Context) (string, error) { tokens++; return s.token(ctx) }}
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
	if _, err := os.Stat(filepath.Join(s.dir, "app-cache", "shop.production.client.lkg.json")); err != nil {
		t.Fatalf("no client cache: %v", err)
	}
}
