// Package s3fault is a reverse proxy in front of a real S3 server
// (versitygw in the integration tests) that passes requests through or,
// on demand, stalls them, answers 500 or drops the connection, so tests
// can make a real store slow, failing or down while edgefn reads it.
// Requests keep their Host header, so SigV4 signatures made for the
// proxy's address verify at the server.
package s3fault

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does with a request.
type Mode int32

// Modes.
const (
	Pass  Mode = iota // forward to the server
	Stall             // hold the request until the mode changes or the client gives up
	Fail              // answer 500 InternalError in S3's XML shape
	Drop              // close the connection without an answer
)

// Proxy is a running proxy.
type Proxy struct {
	// URL is the proxy's endpoint (http://127.0.0.1:PORT).
	URL string

	srv      *http.Server
	mode     atomic.Int32
	requests atomic.Int64

	mu      sync.Mutex
	changed chan struct{}
}

// Start proxies to the S3 endpoint upstream (http://host:port).
func Start(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("start s3 fault proxy: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start s3 fault proxy: %w", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), changed: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		for {
			switch Mode(p.mode.Load()) {
			case Pass:
				rp.ServeHTTP(w, r)
				return
			case Fail:
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>s3fault: injected failure</Message></Error>`)
				return
			case Drop:
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			case Stall:
				p.mu.Lock()
				ch := p.changed
				p.mu.Unlock()
				if Mode(p.mode.Load()) != Stall {
					continue
				}
				select {
				case <-ch:
				case <-r.Context().Done():
					return
				}
			}
		}
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Set changes the mode for requests from now on (and releases stalled
// ones into the new mode).
func (p *Proxy) Set(m Mode) {
	p.mode.Store(int32(m))
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// Requests is how many requests reached the proxy.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// StoreURL rewrites an s3:// store URL to go through the proxy (its
// endpoint parameter becomes the proxy's URL).
func (p *Proxy) StoreURL(s3url string) (string, error) {
	u, err := url.Parse(s3url)
	if err != nil || u.Scheme != "s3" {
		return "", fmt.Errorf("s3fault: %q is not an s3:// URL", s3url)
	}
	q := u.Query()
	q.Set("endpoint", p.URL)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Close stops the proxy and releases stalled requests.
func (p *Proxy) Close() error {
	p.Set(Fail)
	return p.srv.Close()
}
