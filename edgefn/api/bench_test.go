package api_test

// Handler benchmarks on the load tests' flag set (edgefn/bench/flags/peer:
// f1, f2, f3 and 100 F2-like flags): one OFREP request through
// Handler.ServeHTTP as `edgefn serve` configures it for the load tests
// (rate limits off, log level warn), without the network. The wrk figures
// of docs/performance.md add net/http and the loopback on top.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/edgefn/metrics"
	"github.com/edgeflag/edgeflag/edgefn/source"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

const peerBody = `{"context":{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}}`

// peerHandler serves version 1 of the peer flag set.
func peerHandler(b *testing.B) *api.Handler {
	b.Helper()
	fs, err := filestore.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k := testbundle.NewKey(b)
	s, c := testbundle.CompileDir(b, "../bench/flags/peer", "production")
	testbundle.Place(b, fs, "bench", "production", testbundle.SealPair(b, s, c, k, 1, fixture.T0.Add(-time.Hour), 30*24*time.Hour))
	trusted, err := source.ParseJWKS(k.JWKS)
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return fixture.T0 }
	src, err := source.Open(context.Background(), source.Config{Store: fs, Keys: trusted, Project: "bench", Environment: "production", Now: now})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := auth.ParseKeys(fixture.KeysFile())
	if err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Config{Source: src, Auth: &auth.Authenticator{Keys: keys, Project: "bench", Environment: "production"},
		Rates: map[string]*auth.Rate{api.RouteOFREP: nil, api.RouteOFREPBulk: nil}, Metrics: metrics.New(api.Routes),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: now})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// discard is a reusable ResponseWriter.
type discard struct {
	h      http.Header
	status int
	n      int
	last   []byte
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(s int)   { d.status = s }
func (d *discard) Write(p []byte) (int, error) {
	d.n += len(p)
	d.last = p
	return len(p), nil
}

func benchOFREP(b *testing.B, path, want string) {
	benchHandler(b, peerHandler(b), path, peerBody, want)
}

func benchHandler(b *testing.B, h http.Handler, path, reqBody, want string) {
	body := strings.NewReader(reqBody)
	req, _ := http.NewRequest("POST", "http://edgefn"+path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", fixture.Backend)
	w := &discard{h: http.Header{}}
	run := func() {
		body.Reset(reqBody)
		req.Body = io.NopCloser(body)
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
	}
	run()
	if w.status != 200 || !bytes.Contains(w.last, []byte(want)) {
		b.Fatalf("%s: %d %s", path, w.status, w.last)
	}
	b.ReportAllocs()
	b.SetBytes(int64(w.n))
	cpu := processCPU()
	for b.Loop() {
		run()
	}
	if cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	if w.status != 200 {
		b.Fatalf("%s: %d", path, w.status)
	}
}

func BenchmarkOFREPSingle(b *testing.B) {
	benchOFREP(b, "/ofrep/v1/evaluate/flags/f2", `"value":"senior"`)
}

func BenchmarkOFREPBulk(b *testing.B) {
	benchOFREP(b, "/ofrep/v1/evaluate/flags", `"key":"f2_099","value":"senior"`)
}

// BenchmarkOFREPObject: an object value (the fixture's banner flag), the
// one value kind not written by a scalar fast path.
func BenchmarkOFREPObject(b *testing.B) {
	env := fixture.New(b)
	h := env.Handler(func(c *api.Config) {
		c.Rates = map[string]*auth.Rate{api.RouteOFREP: nil}
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	benchHandler(b, h, "/ofrep/v1/evaluate/flags/banner", `{"context":{"targetingKey":"u-1","country":"US"}}`, `"title":"Spring sale"`)
}
