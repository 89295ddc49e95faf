package source_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/edgefn/source"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	project = "shop"
	env     = "production"
)

// faultStore wraps a real file store and injects failures.
type faultStore struct {
	*filestore.Store
	mu        sync.Mutex
	err       error
	delay     time.Duration
	ignoreCtx bool
	reads     map[string]int
}

func (f *faultStore) fault(ctx context.Context, key string) error {
	f.mu.Lock()
	err, delay, ignore := f.err, f.delay, f.ignoreCtx
	if f.reads == nil {
		f.reads = map[string]int{}
	}
	f.reads[key]++
	f.mu.Unlock()
	if delay > 0 {
		if ignore {
			time.Sleep(delay)
		} else {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return err
}

func (f *faultStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := f.fault(ctx, key); err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	return f.Store.Get(ctx, key)
}

func (f *faultStore) GetIfNoneMatch(ctx context.Context, key, etag string) ([]byte, string, error) {
	if err := f.fault(ctx, key); err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	return f.Store.GetIfNoneMatch(ctx, key, etag)
}

func (f *faultStore) set(err error, delay time.Duration, ignoreCtx bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.delay, f.ignoreCtx = err, delay, ignoreCtx
}

func (f *faultStore) readsOf(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[key]
}

type fixture struct {
	t       *testing.T
	timeout time.Duration // refresh timeout; 0: 10s (generous: -race on a loaded machine)
	store   *faultStore
	key     testbundle.Key
	now     atomic.Pointer[time.Time]
	cache   string
}

func newFixture(t *testing.T) *fixture {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: &faultStore{Store: fs}, key: testbundle.NewKey(t)}
	f.setNow(t0)
	return f
}

func (f *fixture) setNow(t time.Time) { f.now.Store(&t) }

func (f *fixture) pair(v uint64) testbundle.Pair {
	return testbundle.Make(f.t, testbundle.Flags, env, f.key, v, t0.Add(-time.Hour), 30*24*time.Hour)
}

func (f *fixture) place(p testbundle.Pair) { testbundle.Place(f.t, f.store.Store, project, env, p) }

func (f *fixture) config() source.Config {
	keys, err := source.ParseJWKS(f.key.JWKS)
	if err != nil {
		f.t.Fatal(err)
	}
	return source.Config{Store: f.store, Keys: keys, Project: project, Environment: env,
		CacheDir: f.cache, Timeout: f.timeoutOr(), Now: func() time.Time { return *f.now.Load() }}
}

func (f *fixture) timeoutOr() time.Duration {
	if f.timeout > 0 {
		return f.timeout
	}
	return 10 * time.Second
}

func (f *fixture) open() *source.Source {
	f.t.Helper()
	s, err := source.Open(context.Background(), f.config())
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func TestOpenServesVerifiedBundles(t *testing.T) {
	f := newFixture(t)
	f.place(f.pair(1))
	s := f.open()
	c := s.Current()
	if c.Version != 1 || c.Origin != "store" || c.KeyID != f.key.Signer.KeyID {
		t.Fatalf("snapshot %+v", c)
	}
	r := c.Server.Engine.Evaluate("new-checkout", eval.Context{"plan": "pro"}, t0)
	if r.Value != true || r.Reason != eval.ReasonTargetingMatch {
		t.Errorf("server evaluation %+v", r)
	}
	if strings.Join(c.Server.Keys, ",") != "banner,button-color,draft-flag,new-checkout,retry-limit,secret-pricing" {
		t.Errorf("server keys %v", c.Server.Keys)
	}
	if strings.Join(c.Client.Keys, ",") != "banner,button-color,draft-flag,new-checkout" {
		t.Errorf("client keys %v (server-only flags must not be there)", c.Client.Keys)
	}
	if c.Server.ETag != `"`+store.Digest(c.Server.Raw)+`"` {
		t.Errorf("etag %s", c.Server.ETag)
	}
	st := s.Status()
	if st.LastKnownGood() || st.Version != 1 || st.Refreshes["updated"] != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestRefreshUnchangedCostsOnePointerRead(t *testing.T) {
	f := newFixture(t)
	f.place(f.pair(1))
	s := f.open()
	bundleKey := store.BundleKey(project, env, 1, "server")
	ptrKey := store.PointerKey(project, env)
	before, ptrBefore := f.store.readsOf(bundleKey), f.store.readsOf(ptrKey)
	for i := 0; i < 3; i++ {
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.store.readsOf(bundleKey); got != before {
		t.Errorf("bundle read %d more times on unchanged refreshes", got-before)
	}
	if got := f.store.readsOf(ptrKey); got != ptrBefore+3 {
		t.Errorf("pointer read %d times in 3 refreshes", got-ptrBefore)
	}
	if st := s.Status(); st.Refreshes["unchanged"] != 3 {
		t.Errorf("status %+v", st)
	}
}

func TestRefreshInstallsNewerVersion(t *testing.T) {
	f := newFixture(t)
	f.place(f.pair(1))
	s := f.open()
	changed := s.Changed()
	f.place(f.pair(2))
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := s.Current().Version; v != 2 {
		t.Fatalf("version %d after refresh, want 2", v)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed() not closed by the swap")
	}
	if !s.MaybeRefresh(context.Background(), 0) {
		t.Error("MaybeRefresh(0) did not refresh")
	}
	if s.MaybeRefresh(context.Background(), time.Hour) {
		t.Error("MaybeRefresh(1h) refreshed right after a refresh")
	}
}

// TestRefreshFailuresKeepLastKnownGood: every way a refresh can fail keeps
// the served snapshot, reports the reason, and recovers when the store is
// fixed.
func TestRefreshFailuresKeepLastKnownGood(t *testing.T) {
	other := testbundle.NewKey(t)
	cases := []struct {
		name   string
		serve  uint64 // version served before the failure
		break_ func(f *fixture)
		reason string
	}{
		{"store down", 1, func(f *fixture) {
			f.store.set(errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), 0, false)
		}, source.ReasonStore},
		{"store slower than the timeout", 1, func(f *fixture) {
			f.store.set(nil, time.Hour, false) // answers only when the refresh gives up
		}, source.ReasonTimeout},
		{"corrupt bundle", 1, func(f *fixture) {
			p := f.pair(2)
			p.Server = corrupt(p.Server)
			f.place(p) // the pointer's digest matches the corrupt bytes: only the signature catches it
		}, "ErrSignature"},
		{"bundle differs from the pointer's digest", 1, func(f *fixture) {
			p := f.pair(2)
			f.place(p)
			if err := f.store.Store.Put(context.Background(), store.BundleKey(project, env, 2, "client"), corrupt(p.Client), blob.Cond{}); err != nil {
				t.Fatal(err)
			}
		}, source.ReasonDigest},
		{"another signing key", 1, func(f *fixture) {
			f.place(testbundle.Make(t, testbundle.Flags, env, other, 2, t0.Add(-time.Hour), 24*time.Hour))
		}, "ErrUnknownKey"},
		{"expired", 1, func(f *fixture) {
			f.place(testbundle.Make(t, testbundle.Flags, env, f.key, 2, t0.Add(-48*time.Hour), 24*time.Hour))
		}, "ErrExpired"},
		{"issued in the future", 1, func(f *fixture) {
			f.place(testbundle.Make(t, testbundle.Flags, env, f.key, 2, t0.Add(time.Hour), 24*time.Hour))
		}, "ErrNotYetValid"},
		{"another environment", 1, func(f *fixture) {
			p := testbundle.Make(t, testbundle.Flags, "staging", f.key, 2, t0.Add(-time.Hour), 24*time.Hour)
			f.place(p)
		}, "ErrEnvironment"},
		{"older version", 3, func(f *fixture) {
			testbundle.PutPointer(t, f.store.Store, project, env, 2, map[string]string{
				"server": store.Digest(f.pair(2).Server), "client": store.Digest(f.pair(2).Client)})
		}, source.ReasonRollback},
		{"pointer to a missing bundle", 1, func(f *fixture) {
			testbundle.PutPointer(t, f.store.Store, project, env, 2, map[string]string{"server": "00", "client": "00"})
		}, source.ReasonMissingBundle},
		{"bundle signed as another version than the pointer's", 1, func(f *fixture) {
			p := f.pair(5)
			p.Version = 2 // stored under version 2's keys
			f.place(p)
		}, source.ReasonVersionMismatch},
		{"pointer that is not a pointer", 1, func(f *fixture) {
			if err := f.store.Store.Put(context.Background(), store.PointerKey(project, env), []byte(`{"format":1,"version":"x"}`), blob.Cond{}); err != nil {
				t.Fatal(err)
			}
		}, source.ReasonPointer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.reason == source.ReasonTimeout {
				f.timeout = 500 * time.Millisecond
			}
			f.place(f.pair(c.serve))
			s := f.open()
			c.break_(f)
			err := s.Refresh(context.Background())
			var re *source.RefreshError
			if !errors.As(err, &re) || re.Reason != c.reason {
				t.Fatalf("Refresh = %v, want a RefreshError with reason %q", err, c.reason)
			}
			if v := s.Current().Version; v != c.serve {
				t.Fatalf("serving version %d after a failed refresh, want %d", v, c.serve)
			}
			st := s.Status()
			if !st.LastKnownGood() || st.LastFailure != c.reason || st.ConsecutiveFailures != 1 || st.Failures[c.reason] != 1 || st.LastError == "" {
				t.Fatalf("status %+v", st)
			}
			// The evaluation still works on the last-known-good bundle.
			if r := s.Current().Server.Engine.Evaluate("new-checkout", eval.Context{"plan": "pro"}, t0); r.Value != true {
				t.Fatalf("evaluation on the kept bundle: %+v", r)
			}
			// A second attempt fails the same way.
			if err := s.Refresh(context.Background()); !errors.As(err, &re) || re.Reason != c.reason {
				t.Fatalf("second Refresh = %v", err)
			}
			// Fixing the store recovers.
			f.store.set(nil, 0, false)
			f.place(f.pair(c.serve + 10))
			if err := s.Refresh(context.Background()); err != nil {
				t.Fatalf("after the fix: %v", err)
			}
			if st := s.Status(); st.LastKnownGood() || st.Version != c.serve+10 || st.ConsecutiveFailures != 0 || st.Failures[c.reason] != 2 {
				t.Fatalf("status after the fix %+v", st)
			}
		})
	}
}

// corrupt flips one character of the signature part.
func corrupt(b []byte) []byte {
	out := append([]byte(nil), b...)
	i := len(out) - 5
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// TestStoreIgnoringCancellation: a store that hangs past the timeout and
// ignores the context does not block refreshes or pile up reads.
func TestStoreIgnoringCancellation(t *testing.T) {
	f := newFixture(t)
	f.timeout = 500 * time.Millisecond
	f.place(f.pair(1))
	s := f.open()
	f.store.set(nil, 4*time.Second, true)
	start := time.Now()
	err := s.Refresh(context.Background())
	var re *source.RefreshError
	if !errors.As(err, &re) || re.Reason != source.ReasonTimeout {
		t.Fatalf("Refresh = %v, want timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Refresh returned after %v, with the store hanging 4s and a 0.5s timeout", d)
	}
	ptrKey := store.PointerKey(project, env)
	reads := f.store.readsOf(ptrKey)
	err = s.Refresh(context.Background())
	if !errors.As(err, &re) || re.Reason != source.ReasonTimeout || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Refresh while the previous read hangs = %v", err)
	}
	if got := f.store.readsOf(ptrKey); got != reads {
		t.Errorf("a second read was started while the first hangs")
	}
	if v := s.Current().Version; v != 1 {
		t.Fatalf("version %d", v)
	}
}

func TestOpenRefusesWithoutVerifiableBundle(t *testing.T) {
	cases := map[string]func(f *fixture){
		"nothing published": func(f *fixture) {},
		"store down": func(f *fixture) {
			f.place(f.pair(1))
			f.store.set(errors.New("connection refused"), 0, false)
		},
		"only a bundle signed by another key": func(f *fixture) {
			f.place(testbundle.Make(t, testbundle.Flags, env, testbundle.NewKey(t), 1, t0.Add(-time.Hour), time.Hour*24))
		},
		"only an expired bundle": func(f *fixture) {
			f.place(testbundle.Make(t, testbundle.Flags, env, f.key, 1, t0.Add(-48*time.Hour), time.Hour*24))
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			setup(f)
			s, err := source.Open(context.Background(), f.config())
			if !errors.Is(err, source.ErrNoBundle) || s != nil {
				t.Fatalf("Open = %v, %v; want ErrNoBundle", s, err)
			}
		})
	}
}

func TestLocalCopy(t *testing.T) {
	f := newFixture(t)
	f.cache = t.TempDir()
	f.place(f.pair(2))
	f.open() // writes the local copy
	if _, err := os.Stat(filepath.Join(f.cache, "shop.production.lkg.json")); err != nil {
		t.Fatalf("no local copy: %v", err)
	}

	t.Run("starts from it while the store is down", func(t *testing.T) {
		f.store.set(errors.New("connection refused"), 0, false)
		defer f.store.set(nil, 0, false)
		s := f.open()
		st := s.Status()
		if st.Version != 2 || st.Origin != "cache" || st.LastFailure != source.ReasonStore {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("keeps the version floor across restarts", func(t *testing.T) {
		testbundle.PutPointer(t, f.store.Store, project, env, 1, map[string]string{"server": "x", "client": "y"})
		defer f.place(f.pair(2))
		s := f.open()
		if st := s.Status(); st.Version != 2 || st.LastFailure != source.ReasonRollback {
			t.Fatalf("status %+v, want version 2 and a refused rollback", st)
		}
	})
	t.Run("same version as the store costs no bundle download", func(t *testing.T) {
		key := store.BundleKey(project, env, 2, "server")
		before := f.store.readsOf(key)
		s := f.open()
		if st := s.Status(); st.Version != 2 || st.Origin != "cache" || st.LastKnownGood() {
			t.Fatalf("status %+v", st)
		}
		if f.store.readsOf(key) != before {
			t.Error("the bundle was downloaded although the local copy has its version")
		}
	})
	t.Run("a tampered copy is not served", func(t *testing.T) {
		p := filepath.Join(f.cache, "shop.production.lkg.json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		good := append([]byte(nil), data...)
		defer os.WriteFile(p, good, 0o644)
		// Replace the server bundle's last signature characters.
		i := strings.Index(string(data), `","client"`)
		copy(data[i-4:i], "AAAA")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f.store.set(errors.New("connection refused"), 0, false)
		defer f.store.set(nil, 0, false)
		if _, err := source.Open(context.Background(), f.config()); !errors.Is(err, source.ErrNoBundle) || !strings.Contains(err.Error(), "local copy") {
			t.Fatalf("Open with a tampered copy = %v", err)
		}
	})
	t.Run("an expired copy is not served", func(t *testing.T) {
		f.setNow(t0.Add(60 * 24 * time.Hour))
		defer f.setNow(t0)
		f.store.set(errors.New("connection refused"), 0, false)
		defer f.store.set(nil, 0, false)
		if _, err := source.Open(context.Background(), f.config()); !errors.Is(err, source.ErrNoBundle) || !strings.Contains(err.Error(), "ErrExpired") && !strings.Contains(err.Error(), "expired") {
			t.Fatalf("Open with an expired copy = %v", err)
		}
	})
	t.Run("the copy follows new versions", func(t *testing.T) {
		s := f.open()
		f.place(f.pair(3))
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.store.set(errors.New("connection refused"), 0, false)
		defer f.store.set(nil, 0, false)
		if v := f.open().Current().Version; v != 3 {
			t.Fatalf("restart from the copy serves %d, want 3", v)
		}
	})
}

// TestSwapIsAtomic: readers running during many swaps always see a
// snapshot whose two bundles are of the same version (run with -race).
func TestSwapIsAtomic(t *testing.T) {
	f := newFixture(t)
	f.place(f.pair(1))
	s := f.open()
	pairs := make([]testbundle.Pair, 0, 8)
	for v := uint64(2); v <= 9; v++ {
		pairs = append(pairs, f.pair(v))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				runtime.Gosched()
				c := s.Current()
				if c.Server.Engine.Version() != c.Version || c.Client.Engine.Version() != c.Version {
					bad.Add(1)
				}
				c.Server.Engine.Evaluate("button-color", eval.Context{"targetingKey": "u"}, t0)
			}
		}()
	}
	for _, p := range pairs {
		f.place(p)
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if bad.Load() != 0 || s.Current().Version != 9 {
		t.Fatalf("%d inconsistent snapshots; final version %d", bad.Load(), s.Current().Version)
	}
}

func TestOpenChecksConfig(t *testing.T) {
	f := newFixture(t)
	f.place(f.pair(1))
	for _, mut := range []func(*source.Config){
		func(c *source.Config) { c.Store = nil },
		func(c *source.Config) { c.Keys = source.TrustedKeys{} },
		func(c *source.Config) { c.Project = "../x" },
		func(c *source.Config) { c.Environment = "" },
	} {
		c := f.config()
		mut(&c)
		if _, err := source.Open(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
