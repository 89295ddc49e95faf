package client_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
)

// t0 is the tests' clock start; bundles are issued an hour before and
// valid for ttl.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	ttl    = 30 * 24 * time.Hour
	apiKey = "efk_offline-test"
)

// fixture is a signing key, compiled flags, a clock, a cache directory and
// a bundle server.
type fixture struct {
	t        testing.TB
	key      testbundle.Key
	server   *ir.Bundle
	clientIR *ir.Bundle
	now      atomic.Pointer[time.Time]
	dir      string
	srv      *clienttest.Server
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, key: testbundle.NewKey(t), dir: filepath.Join(t.TempDir(), "cache"), srv: clienttest.New(t, apiKey)}
	f.server, f.clientIR = testbundle.Compile(t, testbundle.Flags, "production")
	f.setNow(t0)
	return f
}

func (f *fixture) Now() time.Time     { return *f.now.Load() }
func (f *fixture) setNow(t time.Time) { f.now.Store(&t) }

// bundle seals the server bundle as version v with the fixture's key.
func (f *fixture) bundle(v uint64) []byte { return f.sealWith(f.key, v) }

func (f *fixture) sealWith(k testbundle.Key, v uint64) []byte {
	return f.sealAt(k, v, t0.Add(-time.Hour))
}

// sealAt seals the server bundle as version v issued at iat (tests on the
// real clock).
func (f *fixture) sealAt(k testbundle.Key, v uint64, iat time.Time) []byte {
	return testbundle.Seal(f.t, f.server, k, v, iat, iat.Add(ttl))
}

// config is a client of the fixture's server (/v1/flags) and cache.
func (f *fixture) config() client.Config {
	return client.Config{
		URL: f.srv.URL + "/v1/flags", APIKey: apiKey, JWKS: f.key.JWKS,
		Project: "shop", Environment: "production", CacheDir: f.dir,
		Grace: 7 * 24 * time.Hour, Timeout: 10 * time.Second, Now: f.Now,
		Rand: func() float64 { return 0.5 },
	}
}

// open starts a client (a process start) with cfg; it is closed when the
// test ends.
func (f *fixture) open(cfg client.Config) *client.Client {
	f.t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// refresh refreshes c and returns the failure reason ("" on success).
func refresh(t testing.TB, c *client.Client) string {
	t.Helper()
	err := c.Refresh(context.Background())
	if err == nil {
		return ""
	}
	re, ok := err.(*client.RefreshError)
	if !ok {
		t.Fatalf("Refresh returned %T %v, not a *RefreshError", err, err)
	}
	return re.Reason
}

// pro is a context that new-checkout serves "on" for (rule pro).
var pro = map[string]any{"targetingKey": "user-1", "plan": "pro"}

// wantServing checks what c serves and that evaluations agree: with a
// bundle, new-checkout is on for pro (the default passed is false); with
// defaults, the default comes back.
func wantServing(t testing.TB, c *client.Client, serving string, version uint64) client.Status {
	t.Helper()
	st := c.Status()
	if st.Serving != serving || st.Version != version && serving != client.ServingDefaults {
		t.Fatalf("status: serving %q version %d, want %q version %d (%+v)", st.Serving, st.Version, serving, version, st)
	}
	r := c.Evaluate("new-checkout", pro)
	if serving == client.ServingDefaults {
		if r.ErrorCode != client.CodeProviderNotReady || r.Serving != serving || !c.BoolValue("new-checkout", true, pro) {
			t.Fatalf("serving defaults, but evaluation gave %+v", r)
		}
		return st
	}
	if r.Value != true || r.Variant != "on" || r.RuleID != "pro" || r.Version != version || r.Serving != serving {
		t.Fatalf("evaluation %+v, want on from rule pro of version %d, serving %s", r, version, serving)
	}
	return st
}
