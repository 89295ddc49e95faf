package client_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

// s3Like serves a folder store over HTTP the way S3 answers anonymous
// GETs of public objects, path style (/bucket/key): ETag, If-None-Match →
// 304, and 403 AccessDenied for a missing key (S3 without s3:ListBucket).
type s3Like struct {
	dir    string
	mu     sync.Mutex
	gets   map[string]int
	authed bool // a request carried credentials
}

func (s *s3Like) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.gets[r.URL.Path]++
	s.authed = s.authed || r.Header.Get("Authorization") != ""
	s.mu.Unlock()
	key, ok := strings.CutPrefix(r.URL.Path, "/flags-bucket/")
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(key)))
	if !ok || err != nil || r.Method != http.MethodGet {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
		return
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "binary/octet-stream")
	w.Write(data)
}

func (s *s3Like) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[path]
}

// TestS3Store: the client reads the publisher's store layout from an
// S3-style endpoint anonymously — the pointer conditionally, the bundle it
// names checked against the pointer's digest — and refuses a pointer that
// goes back below the floor without downloading anything else.
func TestS3Store(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	fs, err := filestore.New(filepath.Join(dir, "team"))
	if err != nil {
		t.Fatal(err)
	}
	pair := func(v uint64) testbundle.Pair {
		return testbundle.SealPair(t, f.server, f.clientIR, f.key, v, t0.Add(-time.Hour), ttl)
	}
	testbundle.Place(t, fs, "shop", "production", pair(1))
	s3 := &s3Like{dir: dir, gets: map[string]int{}}
	srv := httptest.NewServer(s3)
	defer srv.Close()
	cfg := f.config()
	cfg.URL = "s3://flags-bucket/team?endpoint=" + srv.URL + "&pathStyle=true"
	cfg.APIKey, cfg.Audience = "", "client"
	cfg.FailureThreshold = 100 // this test counts requests, not the breaker
	c := f.open(cfg)
	if r := refresh(t, c); r != "" {
		t.Fatalf("refresh: %q (%+v)", r, c.Status())
	}
	st := c.Status()
	if st.Serving != client.ServingFresh || st.Version != 1 || s3.authed {
		t.Fatalf("status %+v (credentials sent: %v)", st, s3.authed)
	}
	// Only client-side flags are in the client bundle.
	if r := c.Evaluate("secret-pricing", nil); r.ErrorCode != "FLAG_NOT_FOUND" {
		t.Fatalf("a server-only flag in the client bundle: %+v", r)
	}
	if !c.BoolValue("new-checkout", false, pro) {
		t.Fatal("new-checkout is off for pro")
	}
	ptrPath := "/flags-bucket/team/shop/production/current.json"
	bundlePath := "/flags-bucket/team/" + store.BundleKey("shop", "production", 1, "client")
	if r := refresh(t, c); r != "" || s3.count(ptrPath) != 2 || s3.count(bundlePath) != 1 {
		t.Fatalf("unchanged: %q, pointer read %d times, bundle %d", r, s3.count(ptrPath), s3.count(bundlePath))
	}

	testbundle.Place(t, fs, "shop", "production", pair(2))
	if r := refresh(t, c); r != "" || c.Status().Version != 2 {
		t.Fatalf("new version: %q %+v", r, c.Status())
	}

	t.Run("digest mismatch", func(t *testing.T) {
		p3 := pair(3)
		testbundle.Place(t, fs, "shop", "production", p3)
		testbundle.PutPointer(t, fs, "shop", "production", 3, map[string]string{"server": store.Digest(p3.Server), "client": strings.Repeat("0", 64)})
		if r := refresh(t, c); r != client.ReasonDigest || c.Status().Version != 2 {
			t.Fatalf("refresh: %q", r)
		}
	})
	t.Run("pointer below the floor", func(t *testing.T) {
		p1 := pair(1)
		testbundle.PutPointer(t, fs, "shop", "production", 1, map[string]string{"server": store.Digest(p1.Server), "client": store.Digest(p1.Client)})
		before := s3.count(bundlePath)
		if r := refresh(t, c); r != client.ReasonRollback || s3.count(bundlePath) != before {
			t.Fatalf("refresh: %q, bundle read again: %v", r, s3.count(bundlePath) != before)
		}
	})
	t.Run("pointer for another environment", func(t *testing.T) {
		p := filepath.Join(dir, "team", "shop", "production", "current.json")
		if err := os.WriteFile(p, []byte(`{"format":1,"project":"shop","environment":"staging","version":9,"digests":{}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := refresh(t, c); r != client.ReasonPointer {
			t.Fatalf("refresh: %q", r)
		}
	})
	t.Run("missing pointer", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "team", "shop", "production", "current.json")); err != nil {
			t.Fatal(err)
		}
		if r := refresh(t, c); r != client.ReasonAuth || !strings.Contains(c.Status().LastError, "403 Forbidden: <?xml") {
			t.Fatalf("refresh: %q %s", r, c.Status().LastError)
		}
	})
	if st := c.Status(); st.Serving != client.ServingLastKnownGood || st.Version != 2 {
		t.Fatalf("after the failures: %+v", st)
	}
}
