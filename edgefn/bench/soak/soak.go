// Package soak drives a running `edgefn serve` with OFREP load while a new
// bundle version is published every second, checks every answer, and
// samples the server's goroutines and memory, for edgefn/bench's soak
// (cmd/soak, minutes) and its short version in the integration tests.
//
// Every answer must be right: a single-flag answer 200 with f2 = "senior",
// a bulk answer 200 with all of the set's flags (or 304 for the ETag it
// sent), and the bundle version a connection sees never goes back. Any
// other answer, a transport error or a failed publish is an error.
package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Body is the evaluation context the load sends (the peer set's: f2
// answers "senior").
const Body = `{"context":{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}}`

// Config configures a soak.
type Config struct {
	// URL is edgefn's base URL; APIKey a key with flags:read.
	URL, APIKey string
	// Flags is the number of flags a bulk answer must hold.
	Flags int
	// PID is edgefn's process id, for VmRSS (0: not sampled).
	PID int
	// Publish publishes the next version (called every Republish).
	Publish func(ctx context.Context) error
	// Duration of the load; Republish and Sample intervals (defaults 1 s
	// and 5 s); Conns concurrent connections (default 8), of which every
	// BulkEvery-th request is a bulk one (default 4).
	Duration, Republish, Sample time.Duration
	Conns, BulkEvery            int
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Sample is the server's state at one moment.
type Sample struct {
	At                      time.Duration
	Version                 uint64
	Goroutines              int64
	HeapBytes, RuntimeBytes int64
	RSSKiB                  int64
	Requests, Errors        int64
}

// Report is what a soak saw.
type Report struct {
	Requests, Single, Bulk, NotModified int64
	// Errors counts wrong answers, transport errors and failed publishes;
	// Problems holds the first few.
	Errors   int64
	Problems []string
	// Published is the number of successful publishes; FirstVersion and
	// LastVersion the versions served at the start and the end.
	Published                 int
	FirstVersion, LastVersion uint64
	Samples                   []Sample
	Elapsed                   time.Duration
}

type state struct {
	cfg      Config
	client   *http.Client
	requests atomic.Int64
	single   atomic.Int64
	bulk     atomic.Int64
	notMod   atomic.Int64
	errors   atomic.Int64
	mu       sync.Mutex
	problems []string
}

func (s *state) fail(format string, args ...any) {
	s.errors.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

func (s *state) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	}
}

// Run soaks until cfg.Duration has passed or ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.URL == "" || cfg.Publish == nil || cfg.Flags <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("soak: URL, Flags, Publish and Duration are required")
	}
	if cfg.Republish <= 0 {
		cfg.Republish = time.Second
	}
	if cfg.Sample <= 0 {
		cfg.Sample = 5 * time.Second
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 8
	}
	if cfg.BulkEvery <= 0 {
		cfg.BulkEvery = 4
	}
	s := &state{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Conns, MaxConnsPerHost: cfg.Conns}}}
	defer s.client.CloseIdleConnections()
	rep := &Report{}
	first, err := s.sample(0)
	if err != nil {
		return nil, fmt.Errorf("soak: first sample: %w", err)
	}
	rep.FirstVersion = first.Version
	rep.Samples = append(rep.Samples, first)

	start := time.Now()
	lctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	for i := 0; i < cfg.Conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.worker(lctx, i)
		}(i)
	}
	published := make(chan int, 1)
	go func() {
		n := 0
		t := time.NewTicker(cfg.Republish)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				published <- n
				return
			case <-t.C:
				if err := cfg.Publish(lctx); err != nil {
					if lctx.Err() != nil {
						published <- n
						return
					}
					s.fail("publish: %v", err)
					continue
				}
				n++
			}
		}
	}()
	tick := time.NewTicker(cfg.Sample)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-lctx.Done():
			break sampling
		case <-tick.C:
			smp, err := s.sample(time.Since(start))
			if err != nil {
				s.fail("sample: %v", err)
				continue
			}
			rep.Samples = append(rep.Samples, smp)
			s.logf("soak: %5.0fs version %d, %d requests, %d errors, %d goroutines, heap %.1f MB, RSS %.1f MB",
				smp.At.Seconds(), smp.Version, smp.Requests, smp.Errors, smp.Goroutines, float64(smp.HeapBytes)/1e6, float64(smp.RSSKiB)/1024)
		}
	}
	wg.Wait()
	rep.Published = <-published
	rep.Elapsed = time.Since(start)
	// The last version published must be served within two intervals.
	want := rep.FirstVersion + uint64(rep.Published)
	deadline := time.Now().Add(3 * cfg.Republish)
	for {
		last, err := s.sample(time.Since(start))
		if err == nil && last.Version >= want {
			rep.LastVersion = last.Version
			rep.Samples = append(rep.Samples, last)
			break
		}
		if time.Now().After(deadline) {
			s.fail("the last published version %d is not served (serving %d, %v)", want, last.Version, err)
			rep.LastVersion = last.Version
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.Requests, rep.Single, rep.Bulk, rep.NotModified = s.requests.Load(), s.single.Load(), s.bulk.Load(), s.notMod.Load()
	rep.Errors = s.errors.Load()
	rep.Problems = append(rep.Problems, s.problems...)
	return rep, nil
}

func (s *state) post(ctx context.Context, path, etag string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.cfg.URL+path, strings.NewReader(Body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", s.cfg.APIKey)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

type ofrepAnswer struct {
	Key      string `json:"key"`
	Value    any    `json:"value"`
	Metadata struct {
		Version uint64 `json:"version"`
	} `json:"metadata"`
}

// worker sends requests on one connection's worth of load until ctx ends.
func (s *state) worker(ctx context.Context, id int) {
	var seen uint64 // highest version this worker saw
	etag := ""
	for i := 0; ctx.Err() == nil; i++ {
		bulk := i%s.cfg.BulkEvery == s.cfg.BulkEvery-1
		path := "/ofrep/v1/evaluate/flags/f2"
		sendTag := ""
		if bulk {
			path = "/ofrep/v1/evaluate/flags"
			if i%(2*s.cfg.BulkEvery) == 2*s.cfg.BulkEvery-1 {
				sendTag = etag
			}
		}
		resp, body, err := s.post(ctx, path, sendTag)
		if ctx.Err() != nil {
			return // the soak ended mid-request
		}
		s.requests.Add(1)
		if err != nil {
			s.fail("worker %d: %s: %v", id, path, err)
			continue
		}
		switch {
		case !bulk:
			s.single.Add(1)
			var a ofrepAnswer
			if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || a.Value != "senior" || a.Key != "f2" {
				s.fail("worker %d: single: %d %.300s", id, resp.StatusCode, body)
				continue
			}
			if a.Metadata.Version < seen {
				s.fail("worker %d: single: version %d after %d", id, a.Metadata.Version, seen)
			}
			seen = max(seen, a.Metadata.Version)
		case resp.StatusCode == http.StatusNotModified:
			s.bulk.Add(1)
			s.notMod.Add(1)
			if sendTag == "" || resp.Header.Get("ETag") != sendTag {
				s.fail("worker %d: bulk: 304 for ETag %q (answer's %q)", id, sendTag, resp.Header.Get("ETag"))
			}
		default:
			s.bulk.Add(1)
			var a struct {
				Flags    []ofrepAnswer `json:"flags"`
				Metadata struct {
					Version uint64 `json:"version"`
				} `json:"metadata"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || len(a.Flags) != s.cfg.Flags || resp.Header.Get("ETag") == "" {
				s.fail("worker %d: bulk: %d, %d flags: %.300s", id, resp.StatusCode, len(a.Flags), body)
				continue
			}
			if a.Metadata.Version < seen {
				s.fail("worker %d: bulk: version %d after %d", id, a.Metadata.Version, seen)
			}
			seen = max(seen, a.Metadata.Version)
			etag = resp.Header.Get("ETag")
		}
	}
}

// sample reads the server's /metrics and the process's VmRSS.
func (s *state) sample(at time.Duration) (Sample, error) {
	smp := Sample{At: at, Requests: s.requests.Load(), Errors: s.errors.Load()}
	req, err := http.NewRequest("GET", s.cfg.URL+"/metrics", nil)
	if err != nil {
		return smp, err
	}
	req.Header.Set("X-API-Key", s.cfg.APIKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return smp, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return smp, fmt.Errorf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	fields := map[string]*int64{"edgefn_go_goroutines": &smp.Goroutines, "edgefn_go_heap_objects_bytes": &smp.HeapBytes,
		"edgefn_go_memory_bytes": &smp.RuntimeBytes}
	for _, line := range bytes.Split(body, []byte("\n")) {
		name, val, ok := strings.Cut(string(line), " ")
		if !ok {
			continue
		}
		if name == "edgefn_bundle_version" {
			smp.Version, _ = strconv.ParseUint(val, 10, 64)
		}
		if p := fields[name]; p != nil {
			*p, _ = strconv.ParseInt(val, 10, 64)
		}
	}
	if s.cfg.PID > 0 {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(s.cfg.PID) + "/status")
		if err != nil {
			return smp, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				smp.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return smp, nil
}

// Growth compares the first and the last third of the samples taken under
// load (medians): how much goroutines, heap and RSS changed.
func (r *Report) Growth() (goroutines, heapBytes, rssKiB int64) {
	under := r.Samples
	if len(under) > 2 {
		under = under[1 : len(under)-1] // drop the idle first and the after-load last
	}
	n := len(under) / 3
	if n == 0 {
		return 0, 0, 0
	}
	med := func(s []Sample, f func(Sample) int64) int64 {
		v := make([]int64, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		for i := 1; i < len(v); i++ {
			for j := i; j > 0 && v[j] < v[j-1]; j-- {
				v[j], v[j-1] = v[j-1], v[j]
			}
		}
		return v[len(v)/2]
	}
	a, b := under[:n], under[len(under)-n:]
	g := func(s Sample) int64 { return s.Goroutines }
	h := func(s Sample) int64 { return s.HeapBytes }
	m := func(s Sample) int64 { return s.RSSKiB }
	return med(b, g) - med(a, g), med(b, h) - med(a, h), med(b, m) - med(a, m)
}
