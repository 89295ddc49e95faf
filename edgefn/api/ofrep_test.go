package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
)

func TestOFREPSingleEveryType(t *testing.T) {
	s := newServer(t, nil)
	ctx := `{"context":{"targetingKey":"u-1","plan":"pro","age":18,"country":"US"}}`
	cases := []struct {
		flag    string
		value   any
		variant string
		reason  string
		meta    map[string]any
	}{
		{"new-checkout", true, "on", "TARGETING_MATCH", map[string]any{"description": "Redesigned checkout", "owner": "payments", "ruleId": "pro", "version": 1.0}},
		{"retry-limit", 0.0, "none", "TARGETING_MATCH", map[string]any{"ruleId": "young", "version": 1.0}},
		{"banner", map[string]any{"show": true, "title": "Spring sale", "discountPercent": 20.0}, "spring", "TARGETING_MATCH", map[string]any{"ruleId": "spring", "version": 1.0}},
		{"secret-pricing", true, "on", "STATIC", map[string]any{"description": "Server-only flag", "version": 1.0}},
		{"draft-flag", false, "off", "DISABLED", map[string]any{"version": 1.0}},
	}
	for _, c := range cases {
		a := s.do("POST", "/ofrep/v1/evaluate/flags/"+c.flag, ctx, key(fixture.Backend)...)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.flag, a.status, a.body)
		}
		m := a.json(t)
		want := map[string]any{"key": c.flag, "value": c.value, "variant": c.variant, "reason": c.reason, "metadata": c.meta}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("%s:\n got %v\nwant %v", c.flag, m, want)
		}
		if a.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.flag, a.header.Get("Content-Type"))
		}
	}
	// A string flag split on the targeting key; without one the default
	// variant is served and the metadata says why.
	m := s.do("POST", "/ofrep/v1/evaluate/flags/button-color", `{"context":{"targetingKey":"u-1"}}`, key(fixture.Backend)...).json(t)
	if m["reason"] != "SPLIT" || (m["value"] != "#1a73e8" && m["value"] != "#188038") {
		t.Errorf("split: %v", m)
	}
	m = s.do("POST", "/ofrep/v1/evaluate/flags/button-color", `{"context":{}}`, key(fixture.Backend)...).json(t)
	if m["reason"] != "DEFAULT" || m["value"] != "#1a73e8" || m["metadata"].(map[string]any)["errorCode"] != "TARGETING_KEY_MISSING" {
		t.Errorf("split without a targeting key: %v", m)
	}
	if s.spec.Validated.Load() < 7 {
		t.Errorf("only %d OFREP responses validated", s.spec.Validated.Load())
	}
}

func TestOFREPNotFoundLooksTheSameForUngrantedFlags(t *testing.T) {
	s := newServer(t, nil)
	only := s.env.Mint(auth.TokenRequest{Subject: "u-1", Flags: []string{"new-checkout"}, Scopes: []string{"evaluate"}})
	all := s.env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}})
	body := `{"context":{}}`
	norm := func(a answer) map[string]any {
		m := a.json(t)
		if a.status != http.StatusNotFound || m["errorCode"] != "FLAG_NOT_FOUND" || m["requestId"] == "" {
			t.Fatalf("not found answer %d %s", a.status, a.body)
		}
		delete(m, "requestId")
		m["key"], m["errorDetails"] = "K", "<key>"
		return m
	}
	missing := norm(s.do("POST", "/ofrep/v1/evaluate/flags/no-such-flag", body, bearer(only)...))
	ungranted := norm(s.do("POST", "/ofrep/v1/evaluate/flags/banner", body, bearer(only)...))
	serverOnly := norm(s.do("POST", "/ofrep/v1/evaluate/flags/secret-pricing", body, bearer(all)...))
	if !reflect.DeepEqual(missing, ungranted) || !reflect.DeepEqual(missing, serverOnly) {
		t.Fatalf("answers differ: missing %v, ungranted %v, server-only %v", missing, ungranted, serverOnly)
	}
	a := s.do("POST", "/ofrep/v1/evaluate/flags/banner", body, bearer(only)...)
	b := s.do("POST", "/ofrep/v1/evaluate/flags/nope-nope", body, bearer(only)...)
	if a.json(t)["errorDetails"] != `flag "banner" was not found` || b.json(t)["errorDetails"] != `flag "nope-nope" was not found` {
		t.Fatalf("details: %s / %s", a.body, b.body)
	}
	// The granted flag works.
	if a := s.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", body, bearer(only)...); a.status != 200 {
		t.Fatalf("granted flag: %d %s", a.status, a.body)
	}
	// Bulk lists only granted client-side flags.
	m := s.do("POST", "/ofrep/v1/evaluate/flags", body, bearer(only)...).json(t)
	if fl := m["flags"].([]any); len(fl) != 1 || fl[0].(map[string]any)["key"] != "new-checkout" {
		t.Fatalf("bulk for a one-flag token: %v", m)
	}
	m = s.do("POST", "/ofrep/v1/evaluate/flags", body, bearer(all)...).json(t)
	var keys []string
	for _, f := range m["flags"].([]any) {
		keys = append(keys, f.(map[string]any)["key"].(string))
	}
	if !reflect.DeepEqual(keys, []string{"banner", "button-color", "draft-flag", "new-checkout"}) {
		t.Fatalf("bulk for an all-flags token: %v (server-only flags must not appear)", keys)
	}
}

func TestOFREPBulkETag(t *testing.T) {
	s := newServer(t, nil)
	k := key(fixture.Backend)
	pro := `{"context":{"targetingKey":"u-1","plan":"pro"}}`
	a := s.do("POST", "/ofrep/v1/evaluate/flags", pro, k...)
	etag := a.header.Get("ETag")
	if a.status != 200 || etag == "" || a.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("bulk: %d %v %s", a.status, a.header, a.body)
	}
	m := a.json(t)
	if len(m["flags"].([]any)) != 6 || m["metadata"].(map[string]any)["version"] != 1.0 {
		t.Fatalf("bulk body %s", a.body)
	}
	nm := s.do("POST", "/ofrep/v1/evaluate/flags", pro, append(k, "If-None-Match", etag)...)
	if nm.status != http.StatusNotModified || len(nm.body) != 0 || nm.header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d %q", nm.status, nm.body)
	}
	if a := s.do("POST", "/ofrep/v1/evaluate/flags", pro, append(k, "If-None-Match", `"x", W/`+etag)...); a.status != http.StatusNotModified {
		t.Fatalf("weak etag in a list: %d", a.status)
	}
	// Same targeting key, another context that changes a result: the ETag
	// must change (the OFREP web provider re-sends it after a context
	// change with the same targeting key).
	free := `{"context":{"targetingKey":"u-1","plan":"free"}}`
	b := s.do("POST", "/ofrep/v1/evaluate/flags", free, append(k, "If-None-Match", etag)...)
	if b.status != 200 || b.header.Get("ETag") == etag {
		t.Fatalf("changed results kept the ETag: %d %s", b.status, b.header.Get("ETag"))
	}
	// Another context with the same results keeps the ETag: 304.
	same := `{"context":{"targetingKey":"u-1","plan":"pro","unused":[1,2]}}`
	if a := s.do("POST", "/ofrep/v1/evaluate/flags", same, append(k, "If-None-Match", etag)...); a.status != http.StatusNotModified {
		t.Fatalf("same results, other context: %d %s", a.status, a.body)
	}
	// A new bundle version changes it too.
	s.env.Publish(2)
	if err := s.env.Source.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := s.do("POST", "/ofrep/v1/evaluate/flags", pro, append(k, "If-None-Match", etag)...)
	if c.status != 200 || c.header.Get("ETag") == etag || c.json(t)["metadata"].(map[string]any)["version"] != 2.0 {
		t.Fatalf("new version: %d %s", c.status, c.body)
	}
	// Query parameters of the spec are accepted; others are not.
	if a := s.do("POST", "/ofrep/v1/evaluate/flags?flagConfigEtag=x&flagConfigLastModified=1", pro, k...); a.status != 200 {
		t.Fatalf("spec query parameters: %d", a.status)
	}
	if a := s.do("POST", "/ofrep/v1/evaluate/flags?debug=1", pro, k...); a.status != 400 {
		t.Fatalf("unknown parameter: %d", a.status)
	}
}

// TestOFREPBulkConcurrent: bulk answers evaluated at the same time (their
// buffers are pooled) are each exactly the answer of their own context.
func TestOFREPBulkConcurrent(t *testing.T) {
	s := newServer(t, nil)
	ctxs := []string{
		`{"context":{"targetingKey":"u-1","plan":"pro"}}`,
		`{"context":{"targetingKey":"u-2","plan":"free","email":"ana@example.com"}}`,
		`{"context":{"targetingKey":"u-3"}}`,
		`{"context":{}}`,
	}
	want := make([]answer, len(ctxs))
	for i, c := range ctxs {
		want[i] = s.do("POST", "/ofrep/v1/evaluate/flags", c, key(fixture.Backend)...)
	}
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		go func(g int) {
			for i := 0; i < 40; i++ {
				c := (g + i) % len(ctxs)
				req, _ := http.NewRequest("POST", s.srv.URL+"/ofrep/v1/evaluate/flags", strings.NewReader(ctxs[c]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", fixture.Backend)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(body, want[c].body) || resp.Header.Get("ETag") != want[c].header.Get("ETag") {
					errs <- fmt.Errorf("context %d: got %s %s, want %s %s", c, resp.Header.Get("ETag"), body, want[c].header.Get("ETag"), want[c].body)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 16; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestOFREPBodyFraming: a body of declared length and a chunked one (no
// length) decode alike; a Content-Type with parameters is accepted.
func TestOFREPBodyFraming(t *testing.T) {
	s := newServer(t, nil)
	body := `{"context":{"targetingKey":"u-1","plan":"pro"}}`
	want := s.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", body, key(fixture.Backend)...)
	for name, ct := range map[string]string{"chunked": "application/json", "charset": "application/json; charset=utf-8"} {
		req, _ := http.NewRequest("POST", s.srv.URL+"/ofrep/v1/evaluate/flags/new-checkout", io.MultiReader(strings.NewReader(body)))
		if name != "chunked" {
			req, _ = http.NewRequest("POST", s.srv.URL+"/ofrep/v1/evaluate/flags/new-checkout", strings.NewReader(body))
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-API-Key", fixture.Backend)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, want.body) || (name == "chunked") != (req.ContentLength == 0) {
			t.Errorf("%s: %d %s (length %d), want %s", name, resp.StatusCode, got, req.ContentLength, want.body)
		}
	}
}
