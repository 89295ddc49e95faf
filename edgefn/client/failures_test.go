package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// firstRun starts a client against a server serving version v, refreshes
// it (which writes the cache) and closes it: the previous process.
func (f *fixture) firstRun(v uint64) {
	f.t.Helper()
	f.srv.Set(f.bundle(v), 0, false)
	c := f.open(f.config())
	if r := refresh(f.t, c); r != "" {
		f.t.Fatalf("first run: refresh failed: %s (%+v)", r, c.Status())
	}
	wantServing(f.t, c, client.ServingFresh, v)
	c.Close()
}

// TestNoNetworkFirstStartWithoutCache: nothing cached, no network: the
// caller's defaults, and the status says so.
func TestNoNetworkFirstStartWithoutCache(t *testing.T) {
	f := newFixture(t)
	f.srv.Close() // connection refused
	c := f.open(f.config())
	wantServing(t, c, client.ServingDefaults, 0)
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("refresh without network: %q", r)
	}
	st := wantServing(t, c, client.ServingDefaults, 0)
	if st.ConsecutiveFailures != 1 || st.LastFailure != client.ReasonNetwork || st.CacheRejected != "" || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
	if c.StringValue("button-color", "#000", pro) != "#000" || c.NumberValue("retry-limit", 7, nil) != 7 ||
		c.IntValue("retry-limit", 7, nil) != 7 || c.ObjectValue("banner", "def", nil) != "def" || c.EvaluateAll(pro) != nil {
		t.Fatal("defaults were not served for every type")
	}
}

// TestNoNetworkFirstStartWithCache: the cache of the last run is verified
// again and served while the network is down.
func TestNoNetworkFirstStartWithCache(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	f.srv.Close()
	c := f.open(f.config())
	st := wantServing(t, c, client.ServingLastKnownGood, 1)
	if st.Origin != "cache" || st.Floor != 1 || st.CacheRejected != "" {
		t.Fatalf("status %+v", st)
	}
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("refresh without network: %q", r)
	}
	wantServing(t, c, client.ServingLastKnownGood, 1)
}

// TestTamperedCacheFile: a cache whose bundle was changed by one character
// is refused (and says why); the client serves defaults until the network
// gives a verified bundle, which then replaces the cache.
func TestTamperedCacheFile(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	p := filepath.Join(f.dir, "shop.production.server.lkg.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`","etag"`)) // the end of the bundle's signature
	if i < 0 {
		t.Fatalf("cache file layout: %s", data[:80])
	}
	tampered := bytes.Clone(data)
	tampered[i-3] ^= 'A' ^ 'B' // one base64 character of the signature
	if tampered[i-3] == data[i-3] {
		tampered[i-3] = 'A'
	}
	if err := os.WriteFile(p, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	f.srv.Set(nil, 0, true) // and the network is down
	c := f.open(f.config())
	st := wantServing(t, c, client.ServingDefaults, 0)
	if st.CacheRejected != "ErrSignature" && st.CacheRejected != "ErrMalformed" || !strings.Contains(st.CacheError, p) {
		t.Fatalf("tampered cache: %+v", st)
	}
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("refresh: %q", r)
	}
	// The network comes back: the verified bundle is served and cached.
	f.srv.Set(f.bundle(1), 0, false)
	if r := refresh(t, c); r != "" {
		t.Fatalf("refresh: %q", r)
	}
	wantServing(t, c, client.ServingFresh, 1)
	if again, _ := os.ReadFile(p); !bytes.Equal(again, data) {
		t.Fatal("the cache was not rewritten with the verified bundle")
	}

	// Garbage in place of the cache file is refused as such.
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := f.open(f.config())
	if st := wantServing(t, c2, client.ServingDefaults, 0); st.CacheRejected != client.ReasonCache {
		t.Fatalf("garbage cache: %+v", st)
	}
}

// TestExpiredCacheInsideGrace: a cached bundle past its expiry but inside
// the grace is served, marked expired.
func TestExpiredCacheInsideGrace(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	f.srv.Close()
	exp := t0.Add(-time.Hour + ttl)
	f.setNow(exp.Add(6 * 24 * time.Hour)) // grace is 7 days
	c := f.open(f.config())
	if st := wantServing(t, c, client.ServingLastKnownGood, 1); !st.Expired || st.CacheRejected != "" {
		t.Fatalf("status %+v", st)
	}
	// When the grace runs out while running, defaults are served.
	ch := c.Changed()
	f.setNow(exp.Add(7 * 24 * time.Hour))
	c.Check()
	select {
	case <-ch:
	default:
		t.Fatal("no change notified when the grace ran out")
	}
	wantServing(t, c, client.ServingDefaults, 0)
}

// TestExpiredCacheOutsideGrace: beyond the grace, the cached bundle is
// refused with ErrExpired.
func TestExpiredCacheOutsideGrace(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	f.srv.Close()
	f.setNow(t0.Add(-time.Hour + ttl + 7*24*time.Hour))
	c := f.open(f.config())
	if st := wantServing(t, c, client.ServingDefaults, 0); st.CacheRejected != "ErrExpired" {
		t.Fatalf("status %+v", st)
	}
	// Without a grace, the same bundle is refused from the second of
	// expiry.
	f.setNow(t0.Add(-time.Hour + ttl))
	cfg := f.config()
	cfg.Grace = 0
	if st := wantServing(t, f.open(cfg), client.ServingDefaults, 0); st.CacheRejected != "ErrExpired" {
		t.Fatalf("no grace: %+v", st)
	}
}

// TestOlderVersionRefused: a server answering a lower version than the
// highest one seen is refused, in the running process and after restarts
// — also when the cached bundle is gone (the floor is kept apart).
func TestOlderVersionRefused(t *testing.T) {
	f := newFixture(t)
	f.firstRun(3)
	f.srv.Set(f.bundle(2), 0, false)
	c := f.open(f.config())
	if r := refresh(t, c); r != "ErrRollback" {
		t.Fatalf("refresh to an older version: %q", r)
	}
	wantServing(t, c, client.ServingLastKnownGood, 3)
	c.Close()

	t.Run("across a restart", func(t *testing.T) {
		c := f.open(f.config())
		if r := refresh(t, c); r != "ErrRollback" {
			t.Fatalf("refresh after restart: %q", r)
		}
		wantServing(t, c, client.ServingLastKnownGood, 3)
	})
	t.Run("across a restart without the cached bundle", func(t *testing.T) {
		if err := os.Remove(filepath.Join(f.dir, "shop.production.server.lkg.json")); err != nil {
			t.Fatal(err)
		}
		c := f.open(f.config())
		if r := refresh(t, c); r != "ErrRollback" {
			t.Fatalf("refresh after restart: %q", r)
		}
		if st := wantServing(t, c, client.ServingDefaults, 0); st.Floor != 3 {
			t.Fatalf("floor %d, want 3", st.Floor)
		}
		// The same version as the floor is accepted (a re-fetch after the
		// cache was lost), and a newer one of course.
		f.srv.Set(f.bundle(3), 0, false)
		if r := refresh(t, c); r != "" {
			t.Fatalf("refresh to the floor's version: %q", r)
		}
		wantServing(t, c, client.ServingFresh, 3)
		f.srv.Set(f.bundle(4), 0, false)
		if r := refresh(t, c); r != "" {
			t.Fatalf("refresh to a newer version: %q", r)
		}
		if st := wantServing(t, c, client.ServingFresh, 4); st.Floor != 4 {
			t.Fatalf("floor %d, want 4", st.Floor)
		}
	})
}

// TestServerFlapping: consecutive failures open the breaker (no requests
// while open, the last-known-good bundle served), a failed half-open probe
// doubles the wait, and a successful one closes it.
func TestServerFlapping(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.FailureThreshold, cfg.BreakerCooldown = 2, time.Minute
	f.srv.Set(f.bundle(1), 0, false)
	c := f.open(cfg)
	if r := refresh(t, c); r != "" {
		t.Fatal(r)
	}
	f.srv.Set(f.bundle(1), http.StatusServiceUnavailable, false)
	if r := refresh(t, c); r != client.ReasonHTTP {
		t.Fatalf("first failure: %q", r)
	}
	if st := wantServing(t, c, client.ServingLastKnownGood, 1); st.Breaker != client.BreakerClosed || !strings.Contains(st.LastError, "try later") {
		t.Fatalf("after one failure: %+v", st)
	}
	f.srv.Set(nil, 0, true) // now the connection drops
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("second failure: %q", r)
	}
	st := wantServing(t, c, client.ServingLastKnownGood, 1)
	if st.Breaker != client.BreakerOpen || !st.NextAttempt.Equal(t0.Add(time.Minute)) || st.ConsecutiveFailures != 2 {
		t.Fatalf("breaker after two failures: %+v", st)
	}
	before, _, _ := f.srv.Counts()
	if r := refresh(t, c); r != client.ReasonBreakerOpen {
		t.Fatalf("refresh with the breaker open: %q", r)
	}
	if n, _, _ := f.srv.Counts(); n != before {
		t.Fatal("a request was sent while the breaker was open")
	}
	// The probe fails: open again, twice as long.
	f.setNow(t0.Add(time.Minute))
	if st := c.Status(); st.Breaker != client.BreakerHalfOpen {
		t.Fatalf("breaker after the cooldown: %s", st.Breaker)
	}
	if r := refresh(t, c); r != client.ReasonNetwork {
		t.Fatalf("probe: %q", r)
	}
	if st := c.Status(); st.Breaker != client.BreakerOpen || !st.NextAttempt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("breaker after a failed probe: %+v", st)
	}
	// The server is back with a new version: the probe closes it.
	f.setNow(t0.Add(3 * time.Minute))
	f.srv.Set(f.bundle(2), 0, false)
	if r := refresh(t, c); r != "" {
		t.Fatalf("recovery: %q", r)
	}
	if st := wantServing(t, c, client.ServingFresh, 2); st.Breaker != client.BreakerClosed || st.ConsecutiveFailures != 0 {
		t.Fatalf("after recovery: %+v", st)
	}
}

// TestServerRetryAfter: a 429 with Retry-After opens the breaker for at
// least that long, whatever the failure count.
func TestServerRetryAfter(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "300")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	cfg := f.config()
	cfg.URL = srv.URL + "/v1/flags"
	c := f.open(cfg)
	if r := refresh(t, c); r != client.ReasonHTTP {
		t.Fatalf("429: %q", r)
	}
	if st := c.Status(); st.Breaker != client.BreakerOpen || !st.NextAttempt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after Retry-After: %+v", st)
	}
}

// TestCorruptResponse: a body that is not a bundle, or a bundle cut
// short, is refused; the last-known-good bundle and its cache stay.
func TestCorruptResponse(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	cache := filepath.Join(f.dir, "shop.production.server.lkg.json")
	before, _ := os.ReadFile(cache)
	c := f.open(f.config())
	good := f.bundle(2)
	for name, body := range map[string][]byte{
		"html":      []byte("<html>502 Bad Gateway</html>"),
		"truncated": good[:len(good)/2],
		"empty":     {},
	} {
		f.srv.Set(body, 0, false)
		if r := refresh(t, c); r != "ErrMalformed" && r != "ErrSignature" {
			t.Errorf("%s: %q", name, r)
		}
		wantServing(t, c, client.ServingLastKnownGood, 1)
	}
	if after, _ := os.ReadFile(cache); !bytes.Equal(before, after) {
		t.Fatal("a refused answer changed the cache")
	}
}

// TestUnknownSigningKey: a bundle signed by a key the client does not
// trust is refused with ErrUnknownKey.
func TestUnknownSigningKey(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	f.srv.Set(f.sealWith(testbundle.NewKey(t), 2), 0, false)
	c := f.open(f.config())
	if r := refresh(t, c); r != "ErrUnknownKey" {
		t.Fatalf("refresh: %q", r)
	}
	wantServing(t, c, client.ServingLastKnownGood, 1)
}

// TestJWKSRotation: the publisher rotates keys as docs/keys.md says. A
// client whose JWKS has the new key added accepts bundles signed by either;
// one that was never given the new key keeps its last good bundle.
func TestJWKSRotation(t *testing.T) {
	f := newFixture(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oldKeys, err := envelope.ParseJWKS(f.key.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	merged, err := keys.MarshalJWKS(append(oldKeys, pub))
	if err != nil {
		t.Fatal(err)
	}
	newKey := testbundle.Key{Signer: seal.Signer{KeyID: pub.ID, Key: priv}}

	f.firstRun(1) // signed with the old key
	stale := f.open(f.config())
	cfg := f.config()
	cfg.JWKS = merged
	rotated := f.open(cfg)
	if st := wantServing(t, rotated, client.ServingLastKnownGood, 1); st.KeyID != oldKeys[0].ID {
		t.Fatalf("old-key bundle from the cache: %+v", st)
	}
	f.srv.Set(f.sealWith(newKey, 2), 0, false)
	if r := refresh(t, rotated); r != "" {
		t.Fatalf("new-key bundle: %q", r)
	}
	if st := wantServing(t, rotated, client.ServingFresh, 2); st.KeyID != pub.ID {
		t.Fatalf("after rotation: %+v", st)
	}
	if r := refresh(t, stale); r != "ErrUnknownKey" {
		t.Fatalf("client without the new key: %q", r)
	}
	wantServing(t, stale, client.ServingLastKnownGood, 1)
	// After a restart the rotated client starts from the new-key cache.
	rotated.Close()
	if st := wantServing(t, f.open(cfg), client.ServingLastKnownGood, 2); st.Origin != "cache" {
		t.Fatalf("restart: %+v", st)
	}
}

// TestNotModified: an unchanged bundle costs a 304, within a run and after
// a restart (the ETag is kept in the cache).
func TestNotModified(t *testing.T) {
	f := newFixture(t)
	f.firstRun(1)
	cache := filepath.Join(f.dir, "shop.production.server.lkg.json")
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	c := f.open(f.config()) // a restart
	for i := 1; i <= 2; i++ {
		if r := refresh(t, c); r != "" {
			t.Fatalf("refresh %d: %q", i, r)
		}
		_, notMod, inm := f.srv.Counts()
		if notMod != i || !strings.HasPrefix(inm, `"`) {
			t.Fatalf("refresh %d: %d 304s, If-None-Match %q", i, notMod, inm)
		}
	}
	if st := wantServing(t, c, client.ServingFresh, 1); st.Origin != "cache" {
		t.Fatalf("status %+v", st)
	}
	if after, err := os.Stat(cache); err != nil || !after.ModTime().Equal(fi.ModTime()) {
		t.Fatal("a 304 rewrote the cache")
	}
}

// TestCacheDirNotWritable: when the cache cannot be written, the verified
// bundle is served anyway and the status says it will not survive a
// restart.
func TestCacheDirNotWritable(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.CacheDir = filepath.Join(file, "cache") // below a regular file: never creatable, also for root
	f.srv.Set(f.bundle(1), 0, false)
	c := f.open(cfg)
	if r := refresh(t, c); r != "" {
		t.Fatalf("refresh: %q", r)
	}
	st := wantServing(t, c, client.ServingFresh, 1)
	if !strings.Contains(st.PersistError, "create the cache directory") || !strings.Contains(st.PersistError, "not a directory") {
		t.Fatalf("PersistError %q", st.PersistError)
	}
}

// TestFloorBehindCache: a process killed between the two writes leaves the
// cache one version ahead of the floor; the next start raises the floor.
func TestFloorBehindCache(t *testing.T) {
	f := newFixture(t)
	f.firstRun(2)
	floor := filepath.Join(f.dir, "shop.production.server.floor.json")
	if err := os.WriteFile(floor, []byte(`{"format":1,"project":"shop","environment":"production","version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := f.open(f.config())
	if st := wantServing(t, c, client.ServingLastKnownGood, 2); st.Floor != 2 {
		t.Fatalf("floor %d, want 2", st.Floor)
	}
	if data, _ := os.ReadFile(floor); !strings.Contains(string(data), `"version":2`) {
		t.Fatalf("floor file %s", data)
	}
	// A corrupt floor file is reported, and the verified cache sets it anew.
	if err := os.WriteFile(floor, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := f.open(f.config())
	if st := wantServing(t, c2, client.ServingLastKnownGood, 2); st.Floor != 2 || st.PersistError != "" {
		t.Fatalf("after a corrupt floor: %+v", st)
	}
}

// TestOversizeAnswer: an answer over the envelope limit is refused before
// it is read in full.
func TestOversizeAnswer(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxCompressed = 256
	f.srv.Set(bytes.Repeat([]byte("A"), 10_000), 0, false)
	if r := refresh(t, f.open(cfg)); r != client.ReasonTooLarge {
		t.Fatalf("refresh: %q", r)
	}
}

// TestAuthFailure: a refused credential is reported as such, with edgefn's
// message.
func TestAuthFailure(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.APIKey = "efk_wrong"
	c := f.open(cfg)
	if r := refresh(t, c); r != client.ReasonAuth {
		t.Fatalf("refresh: %q", r)
	}
	if st := c.Status(); !strings.Contains(st.LastError, "401 Unauthorized: unknown API key") {
		t.Fatalf("LastError %q", st.LastError)
	}
}

// TestRedirectWithCredentials: a redirect to another origin is not
// followed with the credential.
func TestRedirectWithCredentials(t *testing.T) {
	f := newFixture(t)
	f.srv.Set(f.bundle(1), 0, false)
	var leaked bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = leaked || r.Header.Get("Authorization") != ""
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/v1/flags", http.StatusFound))
	defer redirect.Close()
	cfg := f.config()
	cfg.URL = redirect.URL + "/v1/flags"
	c := f.open(cfg)
	if r := refresh(t, c); r != client.ReasonNetwork || leaked || !strings.Contains(c.Status().LastError, "refusing to follow a redirect") {
		t.Fatalf("refresh: %q, leaked %v, %s", r, leaked, c.Status().LastError)
	}
}

// TestCanceledRefreshIsNotAFailure: a caller that gives up does not count
// against the server.
func TestCanceledRefreshIsNotAFailure(t *testing.T) {
	f := newFixture(t)
	f.srv.Set(f.bundle(1), 0, false)
	c := f.open(f.config())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Refresh(ctx); err == nil {
		t.Fatal("a canceled refresh succeeded")
	}
	if st := c.Status(); st.ConsecutiveFailures != 0 || !st.LastAttempt.IsZero() {
		t.Fatalf("status %+v", st)
	}
}
