package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/reqjson"
)

// Reasons a refresh fails (Status.LastFailure, RefreshError.Reason). A
// bundle the verifier refused reports the verifier's error name instead
// ("ErrSignature", "ErrUnknownKey", "ErrExpired", "ErrRollback",
// "ErrMalformed", …).
const (
	ReasonNetwork     = "network"      // no connection, DNS, TLS, a reset mid-answer
	ReasonTimeout     = "timeout"      // the refresh took longer than Config.Timeout
	ReasonAuth        = "auth"         // 401 or 403: a wrong, expired or under-scoped credential
	ReasonHTTP        = "http"         // any other unexpected HTTP status
	ReasonTooLarge    = "too_large"    // an answer over the size limit
	ReasonToken       = "token"        // Config.Token failed
	ReasonPointer     = "pointer"      // the store's pointer does not decode or is for something else
	ReasonDigest      = "digest"       // a bundle from the store differs from its pointer's SHA-256
	ReasonRollback    = "rollback"     // the store's pointer names a version below the floor
	ReasonVerify      = "verify"       // refused by the verifier for a reason it does not name
	ReasonBreakerOpen = "breaker_open" // not attempted: the circuit breaker is open
	ReasonCache       = "cache"        // the cached file is unreadable or inconsistent (Status.CacheRejected)
)

// RefreshError is a failed refresh. Reason is a Reason constant or a
// verifier error name.
type RefreshError struct {
	Reason string
	Err    error
	// retryAfter is the server's Retry-After, if any.
	retryAfter time.Duration
}

// Error implements error.
func (e *RefreshError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RefreshError) Unwrap() error { return e.Err }

func refreshErr(reason string, format string, args ...any) *RefreshError {
	return &RefreshError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// fetcher gets the current bundle from one kind of source.
type fetcher interface {
	// fetch returns the bundle's bytes and entity tag, or no bytes when it
	// is unchanged since have (nil: none usable). floor is the version
	// floor.
	fetch(ctx context.Context, c *Client, have *loaded, floor uint64) (got, error)
}

// got is a fetch result; data == nil means unchanged.
type got struct {
	data []byte
	etag string
}

// newFetcher parses cfg.URL and returns its fetcher and audience.
func newFetcher(cfg *Config) (fetcher, ir.Audience, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || cfg.URL == "" {
		return nil, 0, fmt.Errorf("source URL %q: not a URL", cfg.URL)
	}
	aud, err := parseAudience(cfg.Audience)
	if err != nil {
		return nil, 0, err
	}
	if cfg.APIKey != "" && cfg.Token != nil {
		return nil, 0, errors.New("give an API key or a token source, not both")
	}
	if u.Scheme == "s3" {
		return newStoreFetcher(cfg, u, aud)
	}
	if err := checkHTTPURL(u, cfg.AllowHTTP); err != nil {
		return nil, 0, fmt.Errorf("source URL: %w", err)
	}
	want, path := ir.Audience(0), strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/v1/flags"):
		if cfg.APIKey == "" {
			return nil, 0, errors.New("source URL: /v1/flags needs an API key (scope flags:read)")
		}
		want = ir.AudienceServer
	case strings.HasSuffix(path, "/v1/bootstrap"):
		if cfg.Token == nil {
			return nil, 0, errors.New("source URL: /v1/bootstrap needs a client token source (scope bootstrap)")
		}
		if m := u.Query().Get("mode"); m != "" && m != "bundle" {
			return nil, 0, fmt.Errorf("source URL: /v1/bootstrap?mode=%s does not answer a bundle; use mode=bundle (the default)", m)
		}
		want = ir.AudienceClient
	}
	switch {
	case want != 0 && aud != 0 && aud != want:
		return nil, 0, fmt.Errorf("source URL: %s serves the %s bundle, not the %s one", path, want, aud)
	case want != 0:
		aud = want
	case aud == 0:
		return nil, 0, errors.New("source URL: say which bundle it serves (Audience \"server\" or \"client\")")
	}
	return objectFetcher{url: u.String()}, aud, nil
}

func parseAudience(s string) (ir.Audience, error) {
	switch s {
	case "":
		return 0, nil
	case "server":
		return ir.AudienceServer, nil
	case "client":
		return ir.AudienceClient, nil
	}
	return 0, fmt.Errorf("audience %q: want \"server\" or \"client\"", s)
}

// checkHTTPURL accepts https, and http to loopback (or anywhere with
// allowHTTP); never credentials in the URL.
func checkHTTPURL(u *url.URL, allowHTTP bool) error {
	if u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s: not an absolute URL with a host", redact(u))
	}
	if u.User != nil {
		return fmt.Errorf("%s: credentials do not belong in the URL (use APIKey or Token)", redact(u))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s: plain http is only for loopback hosts (AllowHTTP to override)", redact(u))
	}
	return fmt.Errorf("%s: scheme %q is not https, http or s3", redact(u), u.Scheme)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact drops a URL's query (presigned URLs carry a signature there).
func redact(u *url.URL) string {
	r := *u
	r.RawQuery, r.ForceQuery, r.User, r.Fragment = "", false, nil, ""
	return r.String()
}

// httpClient returns the client to send requests with: the caller's
// (copied, with a redirect policy) or one of our own.
func httpClient(cfg *Config) (*http.Client, bool) {
	own := cfg.HTTPClient == nil
	var hc http.Client
	if own {
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	} else {
		hc = *cfg.HTTPClient
	}
	creds := cfg.APIKey != "" || cfg.Token != nil
	allowHTTP := cfg.AllowHTTP
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if err := checkHTTPURL(req.URL, allowHTTP); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		first := via[0].URL
		if creds && (req.URL.Scheme != first.Scheme || req.URL.Host != first.Host) {
			return fmt.Errorf("refusing to follow a redirect to %s with credentials", redact(req.URL))
		}
		return nil
	}
	return &hc, own
}

// maxEnvelope is the longest envelope the verifier accepts under the
// client's limits (docs/bundle-format.md §2, step 1).
func (c *Client) maxEnvelope() int64 {
	mc := c.cfg.MaxCompressed
	if mc <= 0 {
		mc = envelope.DefaultMaxCompressed
	}
	b64 := func(n int64) int64 { return (n*8 + 5) / 6 }
	return b64(4096) + 1 + b64(int64(mc)) + 1 + b64(64)
}

// response is an HTTP answer the fetchers accept: 200 with its body, or
// 304.
type response struct {
	status int
	body   []byte
	etag   string
}

// get sends a GET, conditional on etag when set, with the credential when
// creds, and reads at most max bytes of a 200 body. Any other status is a
// *RefreshError.
func (c *Client) get(ctx context.Context, u, etag string, creds bool, max int64) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, refreshErr(ReasonNetwork, "get %s: %w", u, err)
	}
	shown := redact(req.URL)
	req.Header.Set("User-Agent", "edgeflag-client/1")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if creds {
		cred := c.cfg.APIKey
		if c.cfg.Token != nil {
			if cred, err = c.cfg.Token(ctx); err != nil || cred == "" {
				return nil, refreshErr(ReasonToken, "get a client token: %v", errOrEmpty(err))
			}
		}
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, refreshErr(ReasonNetwork, "get %s: %w", shown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
		if err != nil {
			return nil, refreshErr(ReasonNetwork, "get %s: read the answer: %w", shown, err)
		}
		if int64(len(body)) > max {
			return nil, refreshErr(ReasonTooLarge, "get %s: the answer is over %d bytes", shown, max)
		}
		return &response{status: resp.StatusCode, body: body, etag: resp.Header.Get("ETag")}, nil
	case http.StatusNotModified:
		if etag == "" {
			return nil, refreshErr(ReasonHTTP, "get %s: 304 Not Modified to an unconditional request", shown)
		}
		e := resp.Header.Get("ETag")
		if e == "" {
			e = etag
		}
		return &response{status: resp.StatusCode, etag: e}, nil
	}
	detail := errorDetail(resp.Body)
	reason := ReasonHTTP
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		reason = ReasonAuth
	}
	e := refreshErr(reason, "get %s: %s%s", shown, resp.Status, detail)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.retryAfter = time.Duration(min(s, 86400)) * time.Second
	}
	return nil, e
}

func errOrEmpty(err error) error {
	if err == nil {
		return errors.New("the token source returned an empty token")
	}
	return err
}

// unwrapURLError drops *url.Error's "Get URL:" prefix (the URL, with its
// query, is in it); the caller names the redacted URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorDetail reads the start of an error answer for the message: edgefn's
// JSON "message" when there is one, else a printable excerpt.
func errorDetail(body io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(body, 4096))
	var e struct {
		Message string `json:"message"`
	}
	s := string(data)
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		s = e.Message
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return ": " + s
}

// objectFetcher reads one URL that answers the current bundle: edgefn's
// /v1/flags or /v1/bootstrap, or any HTTPS object.
type objectFetcher struct{ url string }

func (o objectFetcher) fetch(ctx context.Context, c *Client, have *loaded, _ uint64) (got, error) {
	etag := ""
	if have != nil {
		etag = have.etag
	}
	r, err := c.get(ctx, o.url, etag, true, c.maxEnvelope())
	if err != nil {
		return got{}, err
	}
	if r.status == http.StatusNotModified {
		return got{etag: r.etag}, nil
	}
	return got{data: r.body, etag: r.etag}, nil
}

// storeFetcher reads the publisher's store layout over HTTPS: the pointer
// <prefix>/<project>/<env>/current.json (conditionally), then the bundle
// <…>/bundles/<version>.<audience>.jws it names, checked against the
// pointer's SHA-256 before it is verified.
type storeFetcher struct {
	base string // scheme://host[/bucket][/prefix]/<project>/<env>/
	aud  ir.Audience
}

var (
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

// newStoreFetcher maps s3://bucket/prefix?region=&endpoint=&pathStyle= to
// HTTPS URLs (virtual-hosted style unless pathStyle or a dotted bucket).
func newStoreFetcher(cfg *Config, u *url.URL, aud ir.Audience) (fetcher, ir.Audience, error) {
	if aud == 0 {
		return nil, 0, errors.New("source URL: an s3:// store holds both bundles: say which (Audience \"server\" or \"client\")")
	}
	if cfg.APIKey != "" || cfg.Token != nil {
		return nil, 0, errors.New("source URL: s3:// stores are read anonymously (public objects); no API key or token")
	}
	bucket := u.Host
	if !bucketRE.MatchString(bucket) || strings.Contains(bucket, "..") || u.User != nil {
		return nil, 0, fmt.Errorf("source URL: %q is not an S3 bucket name", bucket)
	}
	prefix := strings.Trim(u.Path, "/")
	if strings.HasSuffix(prefix, ".jws") || strings.HasSuffix(prefix, ".json") {
		return nil, 0, errors.New("source URL: an s3:// URL names the store (bucket and prefix, as given to edgeflag publish), not one object; use an https:// URL for a single bundle object")
	}
	var region, endpoint string
	pathStyle := false
	for k, vs := range u.Query() {
		if len(vs) != 1 {
			return nil, 0, fmt.Errorf("source URL: parameter %s given %d times", k, len(vs))
		}
		switch v := vs[0]; k {
		case "region":
			if !regionRE.MatchString(v) {
				return nil, 0, fmt.Errorf("source URL: region %q", v)
			}
			region = v
		case "endpoint":
			endpoint = v
		case "pathStyle":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, 0, fmt.Errorf("source URL: pathStyle=%q is not true or false", v)
			}
			pathStyle = b
		default:
			return nil, 0, fmt.Errorf("source URL: unknown parameter %q (region, endpoint, pathStyle)", k)
		}
	}
	var base *url.URL
	switch {
	case endpoint != "":
		e, err := url.Parse(endpoint)
		if err != nil || e.Path != "" && e.Path != "/" || e.RawQuery != "" {
			return nil, 0, fmt.Errorf("source URL: endpoint %q is not scheme://host[:port]", endpoint)
		}
		if err := checkHTTPURL(e, cfg.AllowHTTP); err != nil {
			return nil, 0, fmt.Errorf("source URL: endpoint: %w", err)
		}
		base = &url.URL{Scheme: e.Scheme, Host: e.Host}
	case region != "":
		base = &url.URL{Scheme: "https", Host: "s3." + region + ".amazonaws.com"}
	case strings.Contains(bucket, ".") || pathStyle:
		return nil, 0, errors.New("source URL: a bucket name with dots, or pathStyle, needs region= (TLS certificates do not cover dotted virtual hosts)")
	default:
		base = &url.URL{Scheme: "https", Host: "s3.amazonaws.com"}
	}
	if pathStyle || strings.Contains(bucket, ".") {
		base.Path = "/" + bucket
	} else {
		base.Host = bucket + "." + base.Host
	}
	for _, seg := range append(splitPrefix(prefix), cfg.Project, cfg.Environment) {
		base.Path += "/" + seg
	}
	base.Path += "/"
	return storeFetcher{base: base.String(), aud: aud}, aud, nil
}

func splitPrefix(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// maxPointer bounds the pointer object.
const maxPointer = 64 << 10

// pointer is the part of the publisher's pointer object a reader needs.
// Other members are ignored: the pointer is not trusted (the bundle is
// verified), and the publisher may add members.
type pointer struct {
	Format      int               `json:"format"`
	Project     string            `json:"project"`
	Environment string            `json:"environment"`
	Version     uint64            `json:"version"`
	Digests     map[string]string `json:"digests"`
}

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parsePointer reads a store pointer for project/env and checks the parts
// the client uses: format 1, the environment, a version, a SHA-256 digest
// for aud. Duplicate member names are refused; members it does not use
// are ignored (the publisher owns the format).
func parsePointer(data []byte, project, env string, aud ir.Audience) (*pointer, error) {
	if _, err := reqjson.Parse(data, reqjson.Limits{MaxDepth: 4, MaxValues: 1000, MaxString: 4096}); err != nil {
		return nil, refreshErr(ReasonPointer, "read the store pointer: %v", err)
	}
	var p pointer
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, refreshErr(ReasonPointer, "read the store pointer: not one JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, refreshErr(ReasonPointer, "read the store pointer: data after the JSON object")
	}
	want := aud.String()
	if p.Format != 1 || p.Project != project || p.Environment != env || p.Version == 0 || p.Version > 1<<53-1 || !digestRE.MatchString(p.Digests[want]) {
		return nil, refreshErr(ReasonPointer, "read the store pointer: format %d for %q/%q version %d with %s digest %q; want format 1 for %s/%s",
			p.Format, p.Project, p.Environment, p.Version, want, p.Digests[want], project, env)
	}
	return &p, nil
}

func (s storeFetcher) fetch(ctx context.Context, c *Client, have *loaded, floor uint64) (got, error) {
	etag := ""
	if have != nil {
		etag = have.etag
	}
	r, err := c.get(ctx, s.base+"current.json", etag, false, maxPointer)
	if err != nil {
		return got{}, err
	}
	if r.status == http.StatusNotModified {
		return got{etag: r.etag}, nil
	}
	p, err := parsePointer(r.body, c.cfg.Project, c.cfg.Environment, s.aud)
	if err != nil {
		return got{}, err
	}
	want := s.aud.String()
	switch {
	case have != nil && p.Version == have.claims.Version:
		return got{etag: r.etag}, nil
	case p.Version < floor:
		return got{}, refreshErr(ReasonRollback, "the store pointer names version %d, below the floor %d: refused (a rollback is published as a new, higher version)", p.Version, floor)
	}
	b, err := c.get(ctx, s.base+"bundles/"+strconv.FormatUint(p.Version, 10)+"."+want+".jws", "", false, c.maxEnvelope())
	if err != nil {
		return got{}, err
	}
	sum := sha256.Sum256(b.body)
	if hex.EncodeToString(sum[:]) != p.Digests[want] {
		return got{}, refreshErr(ReasonDigest, "the %s bundle of version %d has SHA-256 %x, the pointer says %s", want, p.Version, sum, p.Digests[want])
	}
	return got{data: b.body, etag: r.etag}, nil
}
