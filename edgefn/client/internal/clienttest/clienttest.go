// Package clienttest is test support for the offline client's packages: an
// HTTP server that answers a bundle the way edgefn's /v1/flags and
// /v1/bootstrap do, with failure modes to switch on.
package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Server answers every GET with the bundle it holds: ETag = quoted
// SHA-256, If-None-Match → 304, "Authorization: Bearer <Credential>"
// required (401 with edgefn's JSON error otherwise).
type Server struct {
	*httptest.Server
	credential string

	mu       sync.Mutex
	body     []byte
	status   int  // answer this status instead (0: normal)
	hangUp   bool // close the connection without an answer
	requests int
	notMod   int    // 304s sent
	lastINM  string // If-None-Match of the last request
}

// New starts a server requiring credential; it stops when the test ends.
func New(t testing.TB, credential string) *Server {
	s := &Server{credential: credential}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.lastINM = r.Header.Get("If-None-Match")
	if s.hangUp {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.credential {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"unauthorized","message":"unknown API key","requestId":"r1"}`))
		return
	}
	if s.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		w.Write([]byte(`{"error":"unavailable","message":"try later","requestId":"r2"}`))
		return
	}
	sum := sha256.Sum256(s.body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	if s.lastINM == etag {
		s.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/jose")
	w.Write(s.body)
}

// Set changes what the server answers: body, or status (not 0), or a
// dropped connection (hangUp).
func (s *Server) Set(body []byte, status int, hangUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status, s.hangUp = body, status, hangUp
}

// Counts returns the number of requests and of 304 answers, and the last
// request's If-None-Match.
func (s *Server) Counts() (requests, notModified int, ifNoneMatch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.notMod, s.lastINM
}
