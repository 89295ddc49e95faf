package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
)

// validatingProxy is a reverse proxy to edgefn that validates every OFREP
// response against the OFREP spec before the client sees it. A response
// that violates the spec is recorded and replaced by a 502, so the client
// fails too; check reports every violation as a test failure.
type validatingProxy struct {
	URL  string
	spec *ofrepspec.Spec
	srv  *httptest.Server

	mu         sync.Mutex
	violations []string
	// seen counts validated OFREP responses by client ("node", "browser",
	// "other") and status.
	seen map[string]map[int]int
	// preflights counts CORS preflight requests by client.
	preflights map[string]int
}

func newValidatingProxy(t testing.TB, upstream string) *validatingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &validatingProxy{spec: ofrepspec.Load(t), seen: map[string]map[int]int{}, preflights: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = p.inspect
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.violation("%s %s: upstream: %v", r.Method, r.URL.Path, err)
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
	}
	p.srv = httptest.NewServer(rp)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// client names the kind of caller from its User-Agent.
func client(r *http.Request) string {
	ua := r.Header.Get("User-Agent")
	switch {
	case strings.Contains(ua, "Chrome"):
		return "browser"
	case ua == "node" || strings.HasPrefix(ua, "node"):
		return "node"
	}
	return "other"
}

func (p *validatingProxy) violation(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Sprintf(format, args...))
}

// inspect validates one upstream response (ReverseProxy.ModifyResponse).
func (p *validatingProxy) inspect(resp *http.Response) error {
	req := resp.Request
	who := client(req)
	if req.Method == http.MethodOptions {
		p.mu.Lock()
		p.preflights[who]++
		p.mu.Unlock()
		return nil
	}
	if !strings.HasPrefix(req.URL.Path, "/ofrep/") {
		p.violation("%s %s: not an OFREP request (the clients should only call OFREP)", req.Method, req.URL.Path)
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if verr := p.spec.Validate(req, resp.StatusCode, resp.Header, body); verr != nil {
		p.violation("OFREP response violates the spec: %s", short(verr.Error()))
		msg := []byte(`{"proxy":"OFREP spec violation (see the Go test log)"}` + "\n")
		resp.StatusCode, resp.Status = http.StatusBadGateway, "502 Bad Gateway"
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Del("ETag")
		body = msg
	} else {
		p.mu.Lock()
		if p.seen[who] == nil {
			p.seen[who] = map[int]int{}
		}
		p.seen[who][resp.StatusCode]++
		p.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// short cuts kin-openapi's schema dumps out of a validation error.
func short(s string) string {
	if i := strings.Index(s, "\nSchema:"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}

// reporter is the part of testing.TB that check uses (a fake in the
// proxy's own test).
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// check fails r for every violation so far and unless who received at
// least want[status] valid responses of each listed status.
func (p *validatingProxy) check(r reporter, who string, want map[int]int) {
	r.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.violations {
		r.Errorf("%s", v)
	}
	for status, n := range want {
		if got := p.seen[who][status]; got < n {
			r.Errorf("%s received %d valid OFREP responses with status %d, want at least %d (all: %v)", who, got, status, n, p.seen[who])
		}
	}
}

type fakeReporter struct{ errs []string }

func (f *fakeReporter) Helper() {}
func (f *fakeReporter) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestValidatingProxyCatches proves the proxy's assertion can fail: an
// upstream answering outside the spec (a reason the enum does not have, a
// error code it does not have, a non-JSON error, a bulk entry without
// key and reason) is turned into a 502 for the
// client and reported by check, while a valid answer passes unchanged.
func TestValidatingProxyCatches(t *testing.T) {
	const valid = `{"key":"f","value":true,"reason":"STATIC","variant":"on","metadata":{}}`
	bad := map[string]struct {
		status int
		body   string
	}{
		"/ofrep/v1/evaluate/flags/bad-reason":  {200, `{"key":"f","value":true,"reason":"BECAUSE","variant":"on"}`},
		"/ofrep/v1/evaluate/flags/bad-code":    {400, `{"key":"f","errorCode":"NOPE","errorDetails":"x"}`},
		"/ofrep/v1/evaluate/flags/text-error":  {404, `flag not found`},
		"/ofrep/v1/evaluate/flags":             {200, `{"flags":[{"value":1}]}`},
		"/ofrep/v1/evaluate/flags/good/valid/": {0, ""},
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if b, ok := bad[r.URL.Path]; ok && b.status != 0 {
			w.WriteHeader(b.status)
			io.WriteString(w, b.body)
			return
		}
		io.WriteString(w, valid)
	}))
	defer upstream.Close()
	p := newValidatingProxy(t, upstream.URL)
	post := func(path string) (int, string) {
		req, _ := http.NewRequest("POST", p.URL+path, strings.NewReader(`{"context":{"targetingKey":"u"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "node")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/ofrep/v1/evaluate/flags/good"); code != 200 || body != valid {
		t.Fatalf("a valid answer was changed: %d %s", code, body)
	}
	ok := &fakeReporter{}
	p.check(ok, "node", map[int]int{200: 1})
	if len(ok.errs) != 0 {
		t.Fatalf("check failed on valid answers only: %v", ok.errs)
	}
	for path, b := range bad {
		if b.status == 0 {
			continue
		}
		if code, body := post(path); code != http.StatusBadGateway || !strings.Contains(body, "spec violation") {
			t.Errorf("%s: the client got %d %s, want the proxy's 502", path, code, body)
		}
	}
	f := &fakeReporter{}
	p.check(f, "node", map[int]int{200: 1})
	if len(f.errs) != 4 {
		t.Fatalf("check reported %d problems, want the 4 violations: %q", len(f.errs), f.errs)
	}
	for _, e := range f.errs {
		if !strings.Contains(e, "violates the spec") {
			t.Errorf("unexpected report %q", e)
		}
	}
	// Too few responses of a wanted status is a failure too.
	few := &fakeReporter{}
	(&validatingProxy{seen: map[string]map[int]int{}}).check(few, "browser", map[int]int{304: 1})
	if len(few.errs) != 1 {
		t.Fatalf("a missing 304 was not reported: %v", few.errs)
	}
}
