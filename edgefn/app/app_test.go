package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/app"
	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
)

const apiKey = devenv.APIKey

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devSetup makes what `make run` makes, with the real edgeflag CLI: a
// signing key, a token key, an API keys file, and examples/shop published
// to a folder store. It returns the serve arguments.
func devSetup(t *testing.T) (dir string, args []string) {
	e := devenv.New(t, "../../examples/shop", "shop", "production", "")
	e.Publish()
	return e.Dir, e.ServeArgs("--cache-dir", filepath.Join(e.Dir, "cache"), "--refresh-interval", "1s")
}

type running struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() error
}

// serve runs `edgefn serve` in-process until the test ends.
func serve(t *testing.T, dir string, args []string) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	env := &app.Env{Stdout: r.stdout, Stderr: r.stderr, Getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() { done <- env.Run(ctx, args) }()
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = errors.New("edgefn serve did not stop within 15s")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = r.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(filepath.Join(dir, "ready")); err == nil && len(data) > 0 {
			r.url = strings.TrimSpace(string(data))
			return r
		}
		select {
		case err := <-done:
			t.Fatalf("edgefn serve exited: %v\n%s", err, r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("edgefn serve not ready after 10s:\n%s", r.stderr.String())
	return nil
}

// get answers the body of GET url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// checkNewCheckout evaluates new-checkout for a staff e-mail through OFREP:
// examples/shop serves it on.
func checkNewCheckout(t *testing.T, base string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/ofrep/v1/evaluate/flags/new-checkout", strings.NewReader(`{"context":{"email":"ana@example.com"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"value":true`) {
		t.Fatalf("OFREP new-checkout: %d %s", resp.StatusCode, body)
	}
}

func TestServeEndToEnd(t *testing.T) {
	dir, args := devSetup(t)
	r := serve(t, dir, args)
	if !strings.Contains(r.stdout.String(), "edgefn: serving shop/production version 1 on "+r.url+"\n") {
		t.Fatalf("stdout %q does not announce %s", r.stdout.String(), r.url)
	}
	checkNewCheckout(t, r.url)
	// The local copy was written: a restart with the store gone still serves.
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !strings.Contains(r.stdout.String(), "edgefn: stopped") {
		t.Fatalf("no clean stop: %q", r.stdout.String())
	}
	if err := os.RemoveAll(filepath.Join(dir, "store")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "ready"))
	r2 := serve(t, dir, args)
	if body := get(t, r2.url+"/healthz"); !strings.Contains(body, `"origin":"cache"`) || !strings.Contains(body, `"status":"degraded"`) {
		t.Fatalf("restart from the local copy: %s", body)
	}
}

func TestServeRefusesWithoutBundle(t *testing.T) {
	dir, args := devSetup(t)
	for i, a := range args {
		if a == "--store" {
			args[i+1] = "file://" + filepath.Join(dir, "empty")
		}
		if a == "--cache-dir" {
			args[i+1] = filepath.Join(dir, "no-cache")
		}
	}
	var stderr bytes.Buffer
	err := (&app.Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}).Run(context.Background(), args)
	if err == nil || app.ExitCode(err) != app.ExitFailure || !strings.Contains(err.Error(), "no verifiable bundle") {
		t.Fatalf("Run = %v (exit %d)", err, app.ExitCode(err))
	}
}

func TestUsageErrors(t *testing.T) {
	dir, args := devSetup(t)
	run := func(getenv func(string) string, args ...string) error {
		return (&app.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: getenv}).Run(context.Background(), args)
	}
	none := func(string) string { return "" }
	cases := map[string][]string{
		"no command":       nil,
		"unknown command":  {"server"},
		"missing settings": {"serve", "--project", "shop"},
		"bad api keys":     append(append([]string{}, args...), "--api-keys", filepath.Join(dir, "signing.key.jwks.json")),
		"inline token key": append(append([]string{}, args...), "--token-key", `{"kty":"OKP"}`),
		"bad rate limits":  append(append([]string{}, args...), "--rate-limits", "ofrep=fast"),
		"bad jwks":         append(append([]string{}, args...), "--jwks", filepath.Join(dir, "token.key")),
	}
	for name, a := range cases {
		if err := run(none, a...); app.ExitCode(err) != app.ExitInvalid {
			t.Errorf("%s: %v (exit %d), want exit 1", name, err, app.ExitCode(err))
		}
	}
	if err := run(none, "help"); err != nil || app.ExitCode(err) != 0 {
		t.Errorf("help: %v", err)
	}
	// The Lambda reads only variables: a missing one is an init error.
	lambdaEnv := func(k string) string {
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return "127.0.0.1:9"
		}
		return ""
	}
	if err := run(lambdaEnv, args...); app.ExitCode(err) != app.ExitInvalid || !strings.Contains(err.Error(), "EDGEFN_STORE") {
		t.Errorf("lambda without variables: %v", err)
	}
}
