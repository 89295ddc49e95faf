package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
)

type server struct {
	t    *testing.T
	env  *fixture.Env
	h    *api.Handler
	srv  *httptest.Server
	http *http.Client
	spec *ofrepspec.Spec
}

func newServer(t *testing.T, mod func(*api.Config)) *server {
	env := fixture.New(t)
	return serverFor(t, env, mod)
}

func serverFor(t *testing.T, env *fixture.Env, mod func(*api.Config)) *server {
	h := env.Handler(mod)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	spec := ofrepspec.Load(t)
	return &server{t: t, env: env, h: h, srv: srv, spec: spec, http: &http.Client{Transport: spec.Transport(t, nil)}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %q", a.status, err, a.body)
	}
	return m
}

// do sends a request; headers alternate name, value.
func (s *server) do(method, path string, body string, headers ...string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: data}
	if a.status >= 500 && a.status != http.StatusNotImplemented && a.status != http.StatusServiceUnavailable {
		s.t.Errorf("%s %s answered %d: %s", method, path, a.status, data)
	}
	if ct := resp.Header.Get("Content-Type"); a.status >= 400 && ct != "application/json" {
		s.t.Errorf("%s %s: error %d with Content-Type %q", method, path, a.status, ct)
	}
	if a.status >= 400 && !json.Valid(data) {
		s.t.Errorf("%s %s: error %d body is not JSON: %q", method, path, a.status, data)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		s.t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return a
}

func key(secret string) []string { return []string{"X-API-Key", secret} }

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func hs256(input string, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
