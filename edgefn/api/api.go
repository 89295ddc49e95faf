// Package api is edgefn's HTTP surface: net/http handlers for OFREP
// evaluation, batch evaluation, config sync, client bootstrap, client
// tokens, the token JWKS, bundle-change streams, health and metrics. The
// same Handler serves `edgefn serve` and the Lambda function.
//
// Every answer is JSON (OFREP-shaped on OFREP routes) except the signed
// bundles, the SSE stream and the Prometheus text; every request gets a
// request id (X-Request-Id) and one structured log line. The contract is
// documented in docs/api.md.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/metrics"
	"github.com/edgeflag/edgeflag/edgefn/source"
)

// Source is what the handlers read bundles from (*source.Source).
type Source interface {
	Current() *source.Snapshot
	Status() source.Status
	Changed() <-chan struct{}
}

// Exposure is one flag evaluation served to a caller: the events pipeline
// turns exposures of running experiments into experiment data.
type Exposure struct {
	Flag, Variant, Reason string
	// Unit is the evaluation's targeting key ("" when the context had
	// none).
	Unit string
	// Version is the bundle version evaluated.
	Version uint64
	// Route is "ofrep", "ofrep_bulk" or "evaluate".
	Route string
	// Principal is the caller (auth.Principal.ID()).
	Principal string
	Time      time.Time
	// Metadata is the flag's metadata in the bundle evaluated (shared,
	// read only): it names the flag's experiment, if any.
	Metadata []ir.Meta
	// Untracked: the caller asked that this evaluation not be recorded as
	// an exposure (header X-Edgeflag-Exposures: off); it is still counted
	// in the evaluation analytics.
	Untracked bool
}

// HeaderExposures is the request header that turns off the exposures an
// evaluation would record ("off").
const HeaderExposures = "X-Edgeflag-Exposures"

// ExposureSink receives the exposures of OFREP and /v1/evaluate
// evaluations. It is called on the request path and must not block:
// buffer, and report what could not be kept. The batch is the handler's
// and reused once Exposures returns: copy what is kept.
type ExposureSink interface {
	Exposures(ctx context.Context, batch []Exposure)
}

// Route names, used by rate limits (--rate-limits) and metrics.
const (
	RouteOFREP     = "ofrep"
	RouteOFREPBulk = "ofrep_bulk"
	RouteEvaluate  = "evaluate"
	RouteFlags     = "flags"
	RouteBootstrap = "bootstrap"
	RouteTokens    = "tokens"
	RouteTrack     = "track"
	RouteKeys      = "keys"
	RouteStream    = "stream"
	RouteHealthz   = "healthz"
	RouteMetrics   = "metrics"
)

// Routes lists every route name.
var Routes = []string{RouteOFREP, RouteOFREPBulk, RouteEvaluate, RouteFlags, RouteBootstrap, RouteTokens,
	RouteTrack, RouteKeys, RouteStream, RouteHealthz, RouteMetrics}

// DefaultRates are the per-credential rate limits of routes that take
// credentials, used when --rate-limits does not name the route. They are
// sized for one backend API key; every client token has its own buckets.
var DefaultRates = map[string]auth.Rate{
	RouteOFREP:     {PerSecond: 5000, Burst: 10000},
	RouteOFREPBulk: {PerSecond: 500, Burst: 1000},
	RouteEvaluate:  {PerSecond: 1000, Burst: 2000},
	RouteFlags:     {PerSecond: 20, Burst: 40},
	RouteBootstrap: {PerSecond: 50, Burst: 100},
	RouteTokens:    {PerSecond: 500, Burst: 1000},
	RouteTrack:     {PerSecond: 500, Burst: 1000},
	RouteKeys:      {PerSecond: 20, Burst: 40},
	RouteStream:    {PerSecond: 2, Burst: 10},
	RouteMetrics:   {PerSecond: 10, Burst: 20},
}

// Limits on requests.
const (
	// MaxBody is the largest request body.
	MaxBody = 1 << 20
	// MaxFlagKey is the longest flag key accepted in a path or body.
	MaxFlagKey = 256
	// MaxBatch is the most requests in one /v1/evaluate call.
	MaxBatch = 1000
	// MaxStreams is the most concurrent /v1/stream connections.
	MaxStreams = 1000
)

// Config configures a Handler.
type Config struct {
	Source Source
	Auth   *auth.Authenticator
	// Rates overrides DefaultRates per route; a nil entry turns a route's
	// limit off.
	Rates   map[string]*auth.Rate
	Metrics *metrics.Registry
	Logger  *slog.Logger
	// Exposures, when set, receives every served evaluation.
	Exposures ExposureSink
	// Track serves POST /v1/track after authentication (scope track or
	// events:write) and rate limiting; the principal is in the request
	// context (PrincipalFrom). Nil answers 501.
	Track http.Handler
	// Stream enables GET /v1/stream (serve only; a Lambda cannot hold a
	// connection open). Shutdown, when closed, ends open streams.
	Stream    bool
	Shutdown  <-chan struct{}
	Heartbeat time.Duration // SSE heartbeat interval; 0 means 15s
	// CORSOrigins are the origins browsers may call from; empty or "*"
	// allows every origin (credentials are headers, never cookies).
	CORSOrigins []string
	// RequestID returns the id of a request (Lambda: the invocation's);
	// "" falls back to a valid X-Request-Id header or a random id.
	RequestID func(*http.Request) string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler is edgefn's http.Handler.
type Handler struct {
	cfg      Config
	project  string
	env      string
	limiters map[string]*auth.Limiter
	routes   map[string]*route
	streams  atomic.Int64
}

type route struct {
	name    string
	methods []string
	need    *auth.Need // nil: no credentials
	ofrep   bool       // errors in the OFREP shape
	single  bool       // the OFREP single-flag route: error bodies name the key
	serve   func(h *Handler, w http.ResponseWriter, r *http.Request, c *call)
}

// call is the per-request state handlers share.
type call struct {
	id        string
	route     *route
	principal auth.Principal
	now       time.Time
	flagKey   string // OFREP single: the key, for error bodies
	errMsg    string // for the log line
}

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Source == nil || cfg.Auth == nil || cfg.Metrics == nil {
		return nil, errors.New("new api handler: Source, Auth and Metrics are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	h := &Handler{cfg: cfg, project: cfg.Auth.Project, env: cfg.Auth.Environment, limiters: map[string]*auth.Limiter{}}
	for name, r := range DefaultRates {
		if o, ok := cfg.Rates[name]; ok {
			if o == nil {
				continue
			}
			r = *o
		}
		h.limiters[name] = auth.NewLimiter(r)
	}
	for name := range cfg.Rates {
		if !slices.Contains(Routes, name) {
			return nil, fmt.Errorf("new api handler: rate limit for unknown route %q", name)
		}
	}
	flagsRead := &auth.Need{KeyScope: auth.ScopeFlagsRead, TokenScope: auth.TokenScopeEvaluate}
	h.routes = map[string]*route{
		"/ofrep/v1/evaluate/flags": {name: RouteOFREPBulk, methods: []string{http.MethodPost}, need: flagsRead, ofrep: true, serve: (*Handler).ofrepBulk},
		"/v1/evaluate":             {name: RouteEvaluate, methods: []string{http.MethodPost}, need: flagsRead, serve: (*Handler).evaluate},
		"/v1/flags":                {name: RouteFlags, methods: []string{http.MethodGet, http.MethodHead}, need: &auth.Need{KeyScope: auth.ScopeFlagsRead}, serve: (*Handler).flags},
		"/v1/bootstrap":            {name: RouteBootstrap, methods: []string{http.MethodGet, http.MethodHead}, need: &auth.Need{TokensOnly: true, TokenScope: auth.TokenScopeBootstrap}, serve: (*Handler).bootstrap},
		"/v1/tokens":               {name: RouteTokens, methods: []string{http.MethodPost}, need: &auth.Need{KeyScope: auth.ScopeTokensIssue}, serve: (*Handler).tokens},
		"/v1/track":                {name: RouteTrack, methods: []string{http.MethodPost}, need: &auth.Need{KeyScope: auth.ScopeEventsWrite, TokenScope: auth.TokenScopeTrack}, serve: (*Handler).track},
		"/v1/keys":                 {name: RouteKeys, methods: []string{http.MethodGet, http.MethodHead}, need: &auth.Need{AnyToken: true}, serve: (*Handler).keys},
		"/v1/stream":               {name: RouteStream, methods: []string{http.MethodGet}, need: &auth.Need{KeyScope: auth.ScopeFlagsRead, AnyToken: true}, serve: (*Handler).stream},
		"/healthz":                 {name: RouteHealthz, methods: []string{http.MethodGet, http.MethodHead}, serve: (*Handler).healthz},
		"/metrics":                 {name: RouteMetrics, methods: []string{http.MethodGet}, need: &auth.Need{}, serve: (*Handler).metricsText},
	}
	return h, nil
}

// ofrepSingle is the OFREP single-flag route; its path has the flag key.
var ofrepSingle = &route{name: RouteOFREP, methods: []string{http.MethodPost},
	need: &auth.Need{KeyScope: auth.ScopeFlagsRead, TokenScope: auth.TokenScopeEvaluate}, ofrep: true, single: true, serve: (*Handler).ofrepOne}

const ofrepSinglePrefix = "/ofrep/v1/evaluate/flags/"

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request served by
// Config.Track.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// statusWriter records the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets the SSE stream through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func (h *Handler) requestID(r *http.Request) string {
	if h.cfg.RequestID != nil {
		if id := h.cfg.RequestID(r); id != "" {
			return id
		}
	}
	if id := r.Header.Get("X-Request-Id"); requestIDRE.MatchString(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ServeHTTP routes, authenticates, limits, serves, logs and counts.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	c := &call{id: h.requestID(r), now: h.cfg.Now()}
	sw.Header().Set("X-Request-Id", c.id)
	h.cors(sw, r)
	defer func() {
		if v := recover(); v != nil {
			h.cfg.Logger.Error("handler panic", "requestId", c.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				h.fail(sw, c, errInternal("internal error"))
			}
		}
		h.finish(sw, r, c, start)
	}()
	rt := h.routes[r.URL.Path]
	if rt == nil && strings.HasPrefix(r.URL.Path, ofrepSinglePrefix) {
		rt = ofrepSingle
		c.flagKey = r.URL.Path[len(ofrepSinglePrefix):]
	}
	if rt == nil {
		c.route = &route{name: "other"}
		h.fail(sw, c, &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no endpoint %s (see docs/api.md)", truncate(r.URL.Path, 200))})
		return
	}
	c.route = rt
	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" {
		h.preflight(sw, rt)
		return
	}
	if !slices.Contains(rt.methods, r.Method) {
		sw.Header().Set("Allow", strings.Join(rt.methods, ", "))
		h.fail(sw, c, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			msg: fmt.Sprintf("%s takes %s, not %s", truncate(r.URL.Path, 200), strings.Join(rt.methods, " or "), truncate(r.Method, 20))})
		return
	}
	if rt.need != nil {
		p, err := h.cfg.Auth.Authenticate(r, c.now)
		if err != nil {
			h.fail(sw, c, authError(err))
			return
		}
		c.principal = p
		need := *rt.need
		if err := auth.Authorize(p, need, h.project); err != nil {
			h.fail(sw, c, &apiError{status: http.StatusForbidden, code: "forbidden", msg: err.Error()})
			return
		}
		if lim := h.limiters[rt.name]; lim != nil {
			d := lim.Allow(rt.name+"|"+p.ID(), c.now)
			hd := sw.Header()
			hd.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
			hd.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
			hd.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
			if !d.Allowed {
				hd.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
				h.cfg.Metrics.RateLimited(rt.name)
				h.fail(sw, c, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
					msg: fmt.Sprintf("rate limit of %s for this credential exceeded; retry after %d s", rt.name, max(1, ceilSeconds(d.RetryAfter)))})
				return
			}
		}
	}
	rt.serve(h, sw, r, c)
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func (h *Handler) finish(sw *statusWriter, r *http.Request, c *call, start time.Time) {
	d := time.Since(start)
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	h.cfg.Metrics.Request(c.route.name, status, d)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	log := h.cfg.Logger
	if !log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("requestId", c.id), slog.String("method", truncate(r.Method, 20)), slog.String("route", c.route.name),
		slog.String("path", truncate(r.URL.Path, 256)), slog.Int("status", status),
		slog.Float64("durationMs", float64(d.Microseconds())/1000), slog.Int("bytes", sw.bytes),
	}
	if c.principal.Key != nil || c.principal.Token != nil {
		attrs = append(attrs, slog.String("caller", c.principal.ID()))
	}
	if c.errMsg != "" {
		attrs = append(attrs, slog.String("error", c.errMsg))
	}
	log.LogAttrs(r.Context(), level, "request", attrs...)
}

// cors adds the CORS answer headers for an allowed Origin.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	hd := w.Header()
	if len(h.cfg.CORSOrigins) == 0 || slices.Contains(h.cfg.CORSOrigins, "*") {
		hd.Set("Access-Control-Allow-Origin", "*")
	} else if slices.Contains(h.cfg.CORSOrigins, origin) {
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Add("Vary", "Origin")
	} else {
		hd.Add("Vary", "Origin")
		return
	}
	hd.Set("Access-Control-Expose-Headers", "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id")
}

func (h *Handler) preflight(w http.ResponseWriter, rt *route) {
	hd := w.Header()
	if hd.Get("Access-Control-Allow-Origin") != "" {
		hd.Set("Access-Control-Allow-Methods", strings.Join(append(slices.Clone(rt.methods), http.MethodOptions), ", "))
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-None-Match, X-API-Key, X-Request-Id, "+HeaderExposures)
		hd.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
