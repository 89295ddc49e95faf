//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
)

const apiKey = devenv.APIKey

func TestMain(m *testing.M) {
	code := m.Run()
	devenv.RemoveBuilds()
	os.Exit(code)
}

// server is a running `edgefn serve` (the real binary) on the flags of
// testdata/flags, behind the validating proxy.
type server struct {
	edgefn string // edgefn's own URL
	proxy  *validatingProxy
	log    *bytes.Buffer
}

// start publishes testdata/flags with the real CLI and serves it.
func start(t *testing.T) *server {
	t.Helper()
	e := devenv.New(t, "testdata/flags", "e2e", "production", "")
	e.Publish()
	ready := e.ReadyFile()
	cmd := exec.Command(devenv.Edgefn(t), e.ServeArgs()...)
	s := &server{log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("edgefn serve exited with %v:\n%s", err, s.log)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("edgefn serve did not stop within 15 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("edgefn serve output:\n%s", s.log)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			s.edgefn = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("edgefn serve exited: %v\n%s", err, s.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("edgefn serve not ready after 20 s:\n%s", s.log)
		}
	}
	s.proxy = newValidatingProxy(t, s.edgefn)
	return s
}

// mint asks edgefn for a client token (POST /v1/tokens with the API key).
func (s *server) mint(t *testing.T, req string) string {
	t.Helper()
	r, _ := http.NewRequest("POST", s.edgefn+"/v1/tokens", strings.NewReader(req))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || out.Token == "" {
		t.Fatalf("mint a token: %d %s", resp.StatusCode, body)
	}
	return out.Token
}

// node runs `node --test` on one test file of this directory with env.
func node(t *testing.T, file string, env ...string) {
	t.Helper()
	if _, err := os.Stat("node_modules/@openfeature/ofrep-provider"); err != nil {
		t.Fatal("edgefn/e2e/node_modules is missing: run `make e2e` (it runs npm ci --prefix edgefn/e2e)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", file)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test %s:\n%s", file, out)
	if err != nil {
		t.Fatalf("node --test %s: %v", file, err)
	}
}

// TestNodeServerProvider: @openfeature/server-sdk with
// @openfeature/ofrep-provider evaluates every flag type, a missing flag,
// a type mismatch, a disabled flag and a wrong API key through edgefn
// (server.test.mjs); every response it got validates against the spec.
func TestNodeServerProvider(t *testing.T) {
	s := start(t)
	node(t, "server.test.mjs", "OFREP_URL="+s.proxy.URL, "API_KEY="+apiKey)
	s.proxy.check(t, "node", map[int]int{200: 15, 404: 1, 401: 1})
}

// chromium is where CI installs Debian's chromium.
const chromium = "/usr/bin/chromium"

// TestBrowserWebProvider: @openfeature/web-sdk with
// @openfeature/ofrep-web-provider in headless Chromium, on a page served
// from another 127.0.0.1 origin (so CORS is exercised), with a client
// token minted by edgefn: every flag type, a flag the token may not see,
// a missing flag, a type mismatch, a forged attribute, context changes
// with If-None-Match (200 when the results change, 304 when they do not)
// (web.test.mjs); every response validates against the spec.
func TestBrowserWebProvider(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is missing (%v): install Debian's chromium (apt-get install -y --no-install-recommends chromium; .ci/run does)", err)
	}
	s := start(t)
	// A token for subject web-user-1 whose plan the server asserts: the
	// page's "plan: pro" must not change what it sees.
	token := s.mint(t, `{"subject":"web-user-1","attributes":{"plan":"free"},"scopes":["evaluate"],"ttlSeconds":600}`)
	page := httptest.NewServer(pageHandler())
	defer page.Close()
	node(t, "web.test.mjs", "OFREP_URL="+s.proxy.URL, "CLIENT_TOKEN="+token, "PAGE_URL="+page.URL+"/web/index.html", "CHROMIUM="+chromium)
	s.proxy.check(t, "browser", map[int]int{200: 2, 304: 1})
	s.proxy.mu.Lock()
	defer s.proxy.mu.Unlock()
	if s.proxy.preflights["browser"] == 0 {
		t.Errorf("the browser sent no CORS preflight: the page and edgefn should be cross-origin")
	}
}

// pageHandler serves the test page and the four npm packages it imports
// (through its import map) from this directory, nothing else.
func pageHandler() http.Handler {
	files := http.FileServerFS(os.DirFS("."))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		allowed := strings.HasPrefix(p, "/web/") || strings.HasPrefix(p, "/node_modules/@openfeature/")
		if r.Method != http.MethodGet || !allowed || strings.Contains(p, "..") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
