// Package client is edgeflag's offline client for Go applications, command
// line tools and (through edgefn/client/mobile) gomobile apps. It evaluates
// flags in-process with the same engine as edgefn, from the last bundle it
// verified, and keeps working with no network:
//
//   - the last verified bundle is kept in a file cache (written atomically)
//     and verified again at every start — the cache is never trusted;
//   - refreshes are conditional (If-None-Match) against edgefn's
//     /v1/flags (API key, server bundle) or /v1/bootstrap (client token,
//     client bundle), any HTTPS URL holding a bundle, or the publisher's
//     store in S3 (s3://bucket/prefix, read with plain HTTPS GETs);
//   - every bundle is checked for signature, project, environment,
//     audience, expiry with an explicit grace, and rollback: the highest
//     version ever accepted is persisted apart from the bundle, and a lower
//     version is refused, also after a restart;
//   - a circuit breaker stops calling a failing server; meanwhile the
//     last-known-good bundle is served or, with none, the caller's
//     defaults, and Status says which;
//   - refreshes run in the background with jitter (Start), on demand
//     (Refresh), and stop cleanly (Close).
//
// The package has no AWS dependency. The contract (files, URLs, grace and
// rollback rules) is docs/offline.md.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Defaults of the Config fields left zero.
const (
	DefaultRefreshInterval  = 5 * time.Minute
	DefaultJitter           = 0.2
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultBreakerMaxDelay  = 10 * time.Minute
	DefaultMaxSkew          = 5 * time.Minute
)

// Config configures a Client. URL, JWKS, Project and Environment are
// required; everything else has a default.
type Config struct {
	// URL is where bundles come from (docs/offline.md, "Sources"):
	//   - https://HOST/…/v1/flags: edgefn's config sync, the server bundle,
	//     with APIKey;
	//   - https://HOST/…/v1/bootstrap: edgefn's client bootstrap (bundle
	//     mode), the client bundle, with Token;
	//   - any other https:// URL answering a signed bundle, with Audience;
	//   - s3://BUCKET[/PREFIX][?region=R&endpoint=URL&pathStyle=true]: the
	//     publisher's store, read anonymously with HTTPS GETs (pointer,
	//     then the bundle it names), with Audience.
	// http:// is accepted for loopback hosts only, unless AllowHTTP.
	URL string
	// Audience is "server" or "client"; edgefn URLs imply it.
	Audience string
	// APIKey is sent as "Authorization: Bearer" (edgefn: scope flags:read).
	APIKey string
	// Token returns a client token (edgefn: scope bootstrap, minted without
	// a flags list), called before every request so it can be renewed.
	Token func(ctx context.Context) (string, error)
	// JWKS is the trusted bundle-signing key set (the publisher's public
	// JWKS, docs/keys.md), parsed strictly.
	JWKS []byte
	// Project and Environment are what the bundles must be for.
	Project, Environment string
	// CacheDir holds the last verified bundle and the version floor
	// (created 0700 if missing). Empty: nothing is kept across restarts.
	CacheDir string
	// Grace is how long after its expiry a bundle is still served. 0: none.
	Grace time.Duration
	// MaxSkew is how far in the future a bundle's issue time may be (the
	// device clock may be behind). 0: DefaultMaxSkew.
	MaxSkew time.Duration
	// RefreshInterval is the mean time between background refreshes;
	// 0: DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Jitter spreads refreshes by ±Jitter×RefreshInterval (0 to 1);
	// 0: DefaultJitter. Negative: no jitter.
	Jitter float64
	// Timeout bounds one refresh; 0: DefaultTimeout.
	Timeout time.Duration
	// FailureThreshold consecutive failures open the circuit breaker;
	// 0: DefaultFailureThreshold.
	FailureThreshold int
	// BreakerCooldown is how long the breaker stays open before one probe
	// (half-open); it doubles after every failed probe up to
	// BreakerMaxDelay. 0: the defaults.
	BreakerCooldown, BreakerMaxDelay time.Duration
	// MaxCompressed and MaxDecompressed limit a bundle's payload (bytes);
	// 0: the verifier's defaults.
	MaxCompressed, MaxDecompressed int
	// AllowHTTP permits plain http:// to hosts other than loopback. Bundles
	// are signed either way; credentials would travel in the clear.
	AllowHTTP bool
	// HTTPClient sends the requests; nil: a client of its own, whose idle
	// connections Close closes. Redirects that would carry a credential to
	// another origin are refused either way.
	HTTPClient *http.Client
	// Now is the clock (default time.Now); Rand returns a number in [0, 1)
	// for jitter (default math/rand/v2).
	Now  func() time.Time
	Rand func() float64
	// Logger receives refresh events (default: discarded).
	Logger *slog.Logger
}

// What a client is serving (Status.Serving, Result.Serving).
const (
	// ServingFresh: a verified bundle that the last refresh confirmed.
	ServingFresh = "fresh"
	// ServingLastKnownGood: a verified bundle (from the cache, or an
	// earlier refresh) while refreshes fail or none has succeeded yet.
	ServingLastKnownGood = "last-known-good"
	// ServingDefaults: no usable bundle (none yet, or expired beyond the
	// grace): evaluations answer the caller's defaults.
	ServingDefaults = "defaults"
)

// Breaker states (Status.Breaker).
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// Client keeps a verified bundle and evaluates flags with it. Safe for
// concurrent use.
type Client struct {
	cfg      Config
	aud      ir.Audience
	trust    envelope.Trust // keys, project, environment, audience, limits
	src      fetcher
	http     *http.Client
	ownHTTP  bool
	copyPath string // "" without CacheDir
	floorPth string

	cur atomic.Pointer[loaded]
	// confirmed: the last refresh succeeded (and one did). Written under
	// mu with the status, read without it by evaluations.
	confirmed atomic.Bool

	refreshMu sync.Mutex // one refresh at a time; guards etag use in fetchers

	mu       sync.Mutex // guards the fields below
	floor    uint64
	st       Status // failure and persistence fields; the rest is derived
	brk      breaker
	changed  chan struct{}
	notified [2]any // serving and version last announced

	startOnce, closeOnce sync.Once
	ctx                  context.Context // canceled by Close
	cancel               context.CancelFunc
	done                 chan struct{} // closed when the loop ends; nil until Start
}

// loaded is a verified bundle being served. Immutable.
type loaded struct {
	claims envelope.Claims
	engine *eval.Engine
	raw    []byte
	etag   string
	origin string // "cache" or "network"
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$`)

// New checks cfg, then loads the cached bundle (verifying it again) and
// the version floor. It does no network IO: call Refresh or Start. It
// fails only for a configuration error; a missing, tampered or expired
// cache is reported in Status (CacheRejected) and the client serves
// defaults until a refresh succeeds.
func New(cfg Config) (*Client, error) {
	c, err := configure(cfg)
	if err != nil {
		return nil, fmt.Errorf("new offline client: %w", err)
	}
	c.loadLocal()
	c.mu.Lock()
	c.notified = [2]any{c.servingLocked(c.cfg.Now()), versionOf(c.cur.Load())}
	c.mu.Unlock()
	return c, nil
}

func configure(cfg Config) (*Client, error) {
	for _, n := range []string{cfg.Project, cfg.Environment} {
		if !nameRE.MatchString(n) {
			return nil, fmt.Errorf("invalid project or environment name %q", n)
		}
	}
	keys, err := envelope.ParseJWKS(cfg.JWKS)
	if err != nil {
		return nil, fmt.Errorf("trusted keys: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Grace < 0 || cfg.MaxSkew < 0 || cfg.RefreshInterval < 0 || cfg.Timeout < 0 || cfg.FailureThreshold < 0 ||
		cfg.BreakerCooldown < 0 || cfg.BreakerMaxDelay < 0 || cfg.Jitter > 1 {
		return nil, errors.New("durations and the failure threshold must not be negative, and jitter is at most 1")
	}
	cfg.MaxSkew = orDefault(cfg.MaxSkew, DefaultMaxSkew)
	cfg.RefreshInterval = orDefault(cfg.RefreshInterval, DefaultRefreshInterval)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	cfg.BreakerCooldown = orDefault(cfg.BreakerCooldown, DefaultBreakerCooldown)
	cfg.BreakerMaxDelay = max(orDefault(cfg.BreakerMaxDelay, DefaultBreakerMaxDelay), cfg.BreakerCooldown)
	if cfg.FailureThreshold == 0 {
		cfg.FailureThreshold = DefaultFailureThreshold
	}
	switch {
	case cfg.Jitter == 0:
		cfg.Jitter = DefaultJitter
	case cfg.Jitter < 0:
		cfg.Jitter = 0
	}
	c := &Client{cfg: cfg, changed: make(chan struct{})}
	if c.src, c.aud, err = newFetcher(&c.cfg); err != nil {
		return nil, err
	}
	c.trust = envelope.Trust{Keys: keys, Project: cfg.Project, Environment: cfg.Environment, Audience: c.aud,
		Grace: cfg.Grace, MaxSkew: cfg.MaxSkew, MaxCompressed: cfg.MaxCompressed, MaxDecompressed: cfg.MaxDecompressed}
	c.http, c.ownHTTP = httpClient(&c.cfg)
	if cfg.CacheDir != "" {
		base := filepath.Join(cfg.CacheDir, cfg.Project+"."+cfg.Environment+"."+c.aud.String())
		c.copyPath, c.floorPth = base+".lkg.json", base+".floor.json"
	}
	c.brk = breaker{threshold: cfg.FailureThreshold, base: cfg.BreakerCooldown, max: cfg.BreakerMaxDelay}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// open verifies data against the client's trust at now with the floor.
func (c *Client) open(data []byte, now time.Time, floor uint64) (*envelope.Bundle, error) {
	t := c.trust
	t.Now, t.LastVersion = now, floor
	return envelope.Open(data, t)
}

func newLoaded(b *envelope.Bundle, raw []byte, etag, origin string) *loaded {
	return &loaded{claims: b.Claims, engine: b.Engine, raw: raw, etag: etag, origin: origin}
}

func versionOf(l *loaded) uint64 {
	if l == nil {
		return 0
	}
	return l.claims.Version
}

// usable reports whether l may be served at now: it expires at exp+grace.
func (c *Client) usable(l *loaded, now time.Time) bool {
	return l != nil && now.Before(l.claims.ExpiresAt.Add(c.cfg.Grace))
}

// servingLocked says what is served at now. c.mu is held.
func (c *Client) servingLocked(now time.Time) string { return c.serving(c.cur.Load(), now) }

// serving says what is served at now when l is the current bundle; it
// takes no lock (the evaluation path).
func (c *Client) serving(l *loaded, now time.Time) string {
	switch {
	case !c.usable(l, now):
		return ServingDefaults
	case c.confirmed.Load():
		return ServingFresh
	}
	return ServingLastKnownGood
}

// Status describes what the client serves and how its refreshes go.
type Status struct {
	// Serving is ServingFresh, ServingLastKnownGood or ServingDefaults.
	Serving string
	// The served (or, when Serving is ServingDefaults, the last verified)
	// bundle; zero without one.
	Version   uint64
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Origin is "cache" (verified from the file cache at start) or
	// "network".
	Origin string
	// Expired: the bundle is past its expiry (served within the grace
	// while Serving is not ServingDefaults).
	Expired bool
	// Floor is the highest version ever accepted; lower ones are refused.
	Floor uint64
	// Breaker is BreakerClosed, BreakerOpen or BreakerHalfOpen;
	// NextAttempt is when an open breaker lets the next refresh through.
	Breaker     string
	NextAttempt time.Time
	// ConsecutiveFailures counts failed refreshes since the last success.
	ConsecutiveFailures int
	// LastAttempt and LastSuccess are when the last refresh and the last
	// successful one ended (zero: none yet).
	LastAttempt, LastSuccess time.Time
	// LastFailure is the reason of the last refresh when it failed (a
	// Reason constant or a verifier error name such as "ErrSignature"),
	// "" when it succeeded; LastError is its message.
	LastFailure, LastError string
	// CacheRejected is why the cached bundle was not used at start (a
	// verifier error name such as "ErrSignature" or "ErrExpired", or
	// ReasonCache), "" when it was used or there was none; CacheError is
	// the message.
	CacheRejected, CacheError string
	// PersistError is the last failure to write the cache or the floor
	// ("" after a write succeeded): the client serves regardless, but what
	// it verified will not survive a restart.
	PersistError string
}

// Status returns the client's status now.
func (c *Client) Status() Status {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Serving = c.servingLocked(now)
	s.Floor = c.floor
	s.Breaker, s.NextAttempt = c.brk.state(now)
	if l := c.cur.Load(); l != nil {
		s.Version, s.KeyID, s.IssuedAt, s.ExpiresAt, s.Origin = l.claims.Version, l.claims.KeyID, l.claims.IssuedAt, l.claims.ExpiresAt, l.origin
		s.Expired = !now.Before(l.claims.ExpiresAt)
	}
	return s
}

// Changed returns a channel that is closed when what the client serves
// changes: a new bundle version, or another Serving value. Call it again
// for the next change.
func (c *Client) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// notifyLocked wakes Changed watchers if the served version or mode
// changed since the last notification. c.mu is held.
func (c *Client) notifyLocked(now time.Time) {
	n := [2]any{c.servingLocked(now), versionOf(c.cur.Load())}
	if n == c.notified {
		return
	}
	c.notified = n
	close(c.changed)
	c.changed = make(chan struct{})
}

// Check re-evaluates the serving mode at the current time and wakes
// Changed watchers if it changed (a bundle that expired beyond its grace
// while no refresh ran). The background loop calls it after every refresh.
func (c *Client) Check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notifyLocked(c.cfg.Now())
}

// loadLocal reads the floor and the cached bundle and verifies the bundle.
func (c *Client) loadLocal() {
	if c.copyPath == "" {
		return
	}
	now := c.cfg.Now()
	floor, ferr := readFloor(c)
	if ferr != nil {
		// An unreadable floor cannot be trusted or repaired from here; the
		// cached bundle (if it verifies) sets a new one.
		c.cfg.Logger.Warn("version floor not readable", "error", ferr.Error())
		c.st.PersistError = ferr.Error()
	}
	c.floor = floor
	l, reason, err := c.loadCopy(now)
	if err != nil {
		c.st.CacheRejected, c.st.CacheError = reason, err.Error()
		c.cfg.Logger.Warn("cached bundle not usable", "reason", reason, "error", err.Error())
		return
	}
	if l == nil {
		return
	}
	c.cur.Store(l)
	c.cfg.Logger.Info("serving the cached bundle", "version", l.claims.Version)
	c.persist(l, false) // a floor behind the cache (a crash between the two writes) catches up
}

// Close stops the background refresh and waits for it to end; evaluations
// keep answering from the current bundle. Safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.startOnce.Do(func() {}) // a Start after Close starts nothing
		if c.done != nil {
			<-c.done
		}
		if c.ownHTTP {
			c.http.CloseIdleConnections()
		}
	})
	return nil
}

// cacheDirReady creates the cache directory if needed.
func (c *Client) cacheDirReady() error {
	return os.MkdirAll(c.cfg.CacheDir, 0o700)
}
