// Package source keeps the bundles edgefn serves: it reads an
// environment's pointer and bundles from a store (publisher/store's layout),
// verifies them before use, swaps the served snapshot atomically, and keeps
// serving the last-known-good snapshot whenever a refresh fails — a store
// that is down, slow or answering errors, a pointer to a missing bundle, a
// bundle that is corrupt, signed by another key, expired or older than the
// one served. Nothing that failed verification is ever served.
//
// A refresh costs one conditional read of the pointer (If-None-Match) when
// nothing was published. A local copy of the last verified bundles
// (Config.CacheDir) lets a process start while the store is unreachable,
// and carries the anti-rollback version across restarts.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Store is the read side of a bundle store: publisher/store's file and S3
// stores. Stores that also implement blob.ConditionalGetter answer an
// unchanged pointer without sending it.
type Store interface {
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
}

// DefaultTimeout bounds one refresh when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Config configures a Source.
type Config struct {
	// Store is where the publisher writes (file:// or s3://).
	Store Store
	// Keys are the trusted bundle-signing keys.
	Keys TrustedKeys
	// Project and Environment name what is served.
	Project, Environment string
	// CacheDir, when set, keeps a local copy of the last verified bundles
	// (<CacheDir>/<project>.<env>.lkg.json).
	CacheDir string
	// Timeout bounds one refresh (pointer and bundle reads, verification);
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives refresh events (default: discarded).
	Logger *slog.Logger
}

// Bundle is one verified bundle of a snapshot.
type Bundle struct {
	// Raw is the signed envelope exactly as published (served by
	// /v1/flags and /v1/bootstrap).
	Raw []byte
	// ETag is the quoted hex SHA-256 of Raw.
	ETag string
	// Engine evaluates the bundle.
	Engine *eval.Engine
	// Types maps each flag key to its declared type.
	Types map[string]ir.FlagType
	// Keys are the flag keys, sorted.
	Keys []string
}

// Snapshot is what is served at one moment: both audiences' bundles of one
// version. Immutable.
type Snapshot struct {
	Version   uint64
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// LoadedAt is when this process verified it.
	LoadedAt time.Time
	// Origin is "store" or "cache" (the local last-known-good copy).
	Origin string
	Server Bundle
	Client Bundle
}

// Failure reasons of a refresh, as reported in Status.LastFailure and
// metrics. A bundle the verifier rejected reports the verifier's error
// name instead ("ErrSignature", "ErrExpired", ...).
const (
	ReasonStore           = "store"            // the store answered an error or was unreachable
	ReasonTimeout         = "timeout"          // the refresh took longer than Config.Timeout
	ReasonNoPointer       = "no_pointer"       // nothing published for the environment
	ReasonPointer         = "pointer"          // the pointer does not decode or names something else
	ReasonMissingBundle   = "missing_bundle"   // the pointer names a bundle that is not in the store
	ReasonDigest          = "digest"           // a bundle's SHA-256 differs from the pointer's
	ReasonRollback        = "rollback"         // the pointer names a version below the one served
	ReasonVersionMismatch = "version_mismatch" // a bundle's signed version differs from the pointer's
	ReasonVerify          = "verify"           // rejected by the verifier for a reason it does not name
)

// RefreshError is a failed refresh: Reason is one of the Reason constants
// or a verifier error name.
type RefreshError struct {
	Reason string
	Err    error
}

// Error implements error.
func (e *RefreshError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RefreshError) Unwrap() error { return e.Err }

// ErrNoBundle is returned by Open when neither the store nor a local copy
// gave a verifiable bundle.
var ErrNoBundle = errors.New("no verifiable bundle")

// Status describes the source for /healthz and metrics.
type Status struct {
	// Snapshot fields of what is served.
	Version   uint64
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	LoadedAt  time.Time
	Origin    string
	// LastAttempt and LastSuccess are the end times of the last refresh and
	// of the last one that did not fail (zero: none yet).
	LastAttempt time.Time
	LastSuccess time.Time
	// LastFailure is the reason of the last refresh when it failed, "" when
	// it succeeded. LastError is its message.
	LastFailure string
	LastError   string
	// ConsecutiveFailures counts failed refreshes since the last success.
	ConsecutiveFailures int
	// Failures counts every failed refresh by reason; Refreshes counts
	// refreshes that succeeded, by outcome ("unchanged", "updated").
	Failures  map[string]uint64
	Refreshes map[string]uint64
	// CacheError is the last failure to write the local copy ("" if none).
	CacheError string
}

// LastKnownGood reports whether the served snapshot is the last-known-good
// one kept after a failed refresh.
func (s Status) LastKnownGood() bool { return s.LastFailure != "" }

// Source holds the served snapshot and refreshes it.
type Source struct {
	cfg  Config
	snap atomic.Pointer[Snapshot]

	refreshMu sync.Mutex // one refresh at a time
	inflight  atomic.Bool
	ptrETag   string // of the pointer the served snapshot came from

	mu      sync.Mutex // guards status and changed
	status  Status
	changed chan struct{}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$`)

// Open builds a Source and loads its first snapshot: the local copy, when
// Config.CacheDir has a verifiable one, then the store. It fails with an
// error wrapping ErrNoBundle when neither gives a verifiable bundle; a
// store failure after a good local copy is only reported in Status.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Store == nil {
		return nil, errors.New("open bundle source: no store")
	}
	if cfg.Keys.Len() == 0 {
		return nil, errors.New("open bundle source: no trusted keys")
	}
	for _, n := range []string{cfg.Project, cfg.Environment} {
		if !nameRE.MatchString(n) {
			return nil, fmt.Errorf("open bundle source: invalid project or environment name %q", n)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, changed: make(chan struct{})}
	s.status.Failures = map[string]uint64{}
	s.status.Refreshes = map[string]uint64{}
	var cacheErr error
	if cfg.CacheDir != "" {
		snap, err := s.loadCache()
		switch {
		case err == nil:
			s.install(snap)
			cfg.Logger.Info("loaded local bundle copy", "version", snap.Version, "dir", cfg.CacheDir)
		case errors.Is(err, errNoCache):
		default:
			cacheErr = err
			cfg.Logger.Warn("local bundle copy not usable", "error", err.Error())
		}
	}
	err := s.Refresh(ctx)
	if s.snap.Load() == nil {
		if cacheErr != nil {
			return nil, fmt.Errorf("open bundle source: %w: store: %v; local copy: %v", ErrNoBundle, err, cacheErr)
		}
		if cfg.CacheDir == "" {
			return nil, fmt.Errorf("open bundle source: %w: store: %v (and no --cache-dir for a local copy)", ErrNoBundle, err)
		}
		return nil, fmt.Errorf("open bundle source: %w: store: %v (no local copy in %s yet)", ErrNoBundle, err, cfg.CacheDir)
	}
	return s, nil
}

// Current returns the served snapshot (never nil after Open).
func (s *Source) Current() *Snapshot { return s.snap.Load() }

// Changed returns a channel closed when a new snapshot is installed; call
// it again for the next change.
func (s *Source) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Status returns a copy of the source's status.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Failures = cloneMap(st.Failures)
	st.Refreshes = cloneMap(st.Refreshes)
	if c := s.snap.Load(); c != nil {
		st.Version, st.KeyID, st.IssuedAt, st.ExpiresAt, st.LoadedAt, st.Origin = c.Version, c.KeyID, c.IssuedAt, c.ExpiresAt, c.LoadedAt, c.Origin
	}
	return st
}

func cloneMap(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Run refreshes every interval until ctx ends (the serve loop).
func (s *Source) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Refresh(ctx) // reported in Status and logs
		}
	}
}

// MaybeRefresh refreshes when the last attempt ended at least minInterval
// ago (Lambda: on invocation, since a frozen function runs no goroutines).
// It reports whether it refreshed.
func (s *Source) MaybeRefresh(ctx context.Context, minInterval time.Duration) bool {
	s.mu.Lock()
	last := s.status.LastAttempt
	s.mu.Unlock()
	if !last.IsZero() && s.cfg.Now().Sub(last) < minInterval {
		return false
	}
	_ = s.Refresh(ctx)
	return true
}

// timeoutError is the error of a refresh stopped by its own timeout or,
// earlier, by the caller's deadline (ctx: in Lambda, the invocation's,
// less the time kept to answer), wrapping cause when there is one.
func (s *Source) timeoutError(ctx context.Context, cause error) error {
	msg := "refresh bundles: store did not answer within " + s.cfg.Timeout.String()
	if ctx.Err() != nil {
		msg = "refresh bundles: store did not answer before the caller's deadline"
	}
	if cause != nil {
		return &RefreshError{Reason: ReasonTimeout, Err: fmt.Errorf("%s: %w", msg, cause)}
	}
	return &RefreshError{Reason: ReasonTimeout, Err: errors.New(msg)}
}

// Refresh checks the store once and installs a newer verified snapshot.
// On failure the served snapshot stays; the error (a *RefreshError) is
// also recorded in Status.
func (s *Source) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	cur := s.snap.Load()
	var (
		next    *Snapshot
		newETag string
		err     error
	)
	if !s.inflight.CompareAndSwap(false, true) {
		// A fetch abandoned at its timeout has still not returned: the
		// store ignores cancellation. Do not pile up more.
		err = &RefreshError{Reason: ReasonTimeout, Err: errors.New("refresh bundles: the previous store read is still running past its timeout")}
	} else {
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		type result struct {
			snap *Snapshot
			etag string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			n, e, ferr := s.fetch(tctx, cur)
			// Cleared before the send, so that the next Refresh, which may
			// start as soon as this one returns, never sees it set.
			s.inflight.Store(false)
			done <- result{n, e, ferr}
		}()
		select {
		case r := <-done:
			next, newETag, err = r.snap, r.etag, r.err
			if err != nil && tctx.Err() != nil {
				err = s.timeoutError(ctx, err)
			}
		case <-tctx.Done():
			err = s.timeoutError(ctx, nil)
		}
		cancel()
	}
	now := s.cfg.Now()
	if err != nil {
		var re *RefreshError
		if !errors.As(err, &re) {
			re = &RefreshError{Reason: ReasonStore, Err: err}
			err = re
		}
		s.mu.Lock()
		s.status.LastAttempt = now
		s.status.LastFailure, s.status.LastError = re.Reason, re.Error()
		s.status.ConsecutiveFailures++
		s.status.Failures[re.Reason]++
		s.mu.Unlock()
		served := uint64(0)
		if cur != nil {
			served = cur.Version
		}
		s.cfg.Logger.Warn("bundle refresh failed; serving the last-known-good bundle",
			"reason", re.Reason, "error", re.Error(), "servedVersion", served)
		return err
	}
	outcome := "unchanged"
	if next != nil {
		s.install(next)
		outcome = "updated"
		s.cfg.Logger.Info("serving new bundle version", "version", next.Version, "previous", versionOf(cur), "kid", next.KeyID)
		if s.cfg.CacheDir != "" {
			cerr := s.writeCache(next)
			s.mu.Lock()
			s.status.CacheError = ""
			if cerr != nil {
				s.status.CacheError = cerr.Error()
			}
			s.mu.Unlock()
			if cerr != nil {
				s.cfg.Logger.Warn("could not write the local bundle copy", "error", cerr.Error())
			}
		}
	}
	s.ptrETag = newETag
	s.mu.Lock()
	s.status.LastAttempt, s.status.LastSuccess = now, now
	s.status.LastFailure, s.status.LastError = "", ""
	s.status.ConsecutiveFailures = 0
	s.status.Refreshes[outcome]++
	s.mu.Unlock()
	return nil
}

func versionOf(s *Snapshot) uint64 {
	if s == nil {
		return 0
	}
	return s.Version
}

// install swaps in a new snapshot and wakes watchers.
func (s *Source) install(n *Snapshot) {
	s.snap.Store(n)
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// fetch reads the pointer and, when it names a newer version, that
// version's bundles, verified. It returns (nil, etag, nil) when nothing
// changed.
func (s *Source) fetch(ctx context.Context, cur *Snapshot) (*Snapshot, string, error) {
	p, e := s.cfg.Project, s.cfg.Environment
	etag := s.ptrETag
	if cur == nil {
		etag = ""
	}
	ptr, newETag, err := store.ReadPointerIfNoneMatch(ctx, s.cfg.Store, p, e, etag)
	switch {
	case errors.Is(err, blob.ErrNotModified):
		return nil, etag, nil
	case errors.Is(err, blob.ErrNotFound):
		return nil, "", &RefreshError{Reason: ReasonNoPointer, Err: fmt.Errorf("refresh bundles: nothing published for %s/%s: %w", p, e, err)}
	case errors.Is(err, store.ErrInvalidPointer):
		return nil, "", &RefreshError{Reason: ReasonPointer, Err: fmt.Errorf("refresh bundles: %w", err)}
	case err != nil:
		return nil, "", &RefreshError{Reason: ReasonStore, Err: fmt.Errorf("refresh bundles: %w", err)}
	}
	last := versionOf(cur)
	switch {
	case ptr.Version == last:
		return nil, newETag, nil
	case ptr.Version < last:
		return nil, "", &RefreshError{Reason: ReasonRollback, Err: fmt.Errorf(
			"refresh bundles: the pointer names version %d, lower than the served version %d: refusing to roll back (a rollback is published as a new, higher version)", ptr.Version, last)}
	}
	now := s.cfg.Now()
	var bs [2]Bundle
	var claims *opened
	for i, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
		name := aud.String()
		want, ok := ptr.Digests[name]
		if !ok {
			return nil, "", &RefreshError{Reason: ReasonPointer, Err: fmt.Errorf("refresh bundles: pointer version %d has no %s bundle digest", ptr.Version, name)}
		}
		key := store.BundleKey(p, e, ptr.Version, name)
		data, _, err := s.cfg.Store.Get(ctx, key)
		if errors.Is(err, blob.ErrNotFound) {
			return nil, "", &RefreshError{Reason: ReasonMissingBundle, Err: fmt.Errorf("refresh bundles: the pointer names version %d but %s is missing: %w", ptr.Version, key, err)}
		}
		if err != nil {
			return nil, "", &RefreshError{Reason: ReasonStore, Err: fmt.Errorf("refresh bundles: %w", err)}
		}
		if got := store.Digest(data); got != want {
			return nil, "", &RefreshError{Reason: ReasonDigest, Err: fmt.Errorf("refresh bundles: %s has SHA-256 %s, the pointer says %s", key, got, want)}
		}
		b, o, err := s.verify(data, aud, now, last)
		if err != nil {
			return nil, "", err
		}
		if o.version != ptr.Version {
			return nil, "", &RefreshError{Reason: ReasonVersionMismatch, Err: fmt.Errorf("refresh bundles: %s is signed as version %d, the pointer says %d", key, o.version, ptr.Version)}
		}
		bs[i] = b
		if claims == nil {
			claims = o
		}
	}
	return &Snapshot{
		Version: claims.version, KeyID: claims.keyID, IssuedAt: claims.issuedAt, ExpiresAt: claims.expiresAt,
		LoadedAt: now, Origin: "store", Server: bs[0], Client: bs[1],
	}, newETag, nil
}

// verify opens one bundle for the configured project and environment.
func (s *Source) verify(data []byte, aud ir.Audience, now time.Time, last uint64) (Bundle, *opened, error) {
	o, err := openBundle(data, s.cfg.Keys, s.cfg.Project, s.cfg.Environment, aud, now, last)
	if err != nil {
		reason := rejectionName(err)
		if reason == "" {
			reason = ReasonVerify
		}
		return Bundle{}, nil, &RefreshError{Reason: reason, Err: fmt.Errorf("verify %s bundle: %w", aud, err)}
	}
	sum := sha256.Sum256(data)
	return Bundle{
		Raw: data, ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
		Engine: o.engine, Types: o.flags, Keys: o.engine.Keys(),
	}, o, nil
}
