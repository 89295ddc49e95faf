package mobile

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
)

type tokens struct{ n atomic.Int32 }

func (t *tokens) Token() (string, error) {
	if t.n.Add(1) > 100 {
		return "", errors.New("no more tokens")
	}
	return "eyJ.test.token", nil
}

type listener struct{ got chan *Status }

func (l *listener) OnChange(s *Status) { l.got <- s }

// TestMobileClient: the gomobile-facing API end to end against a server
// answering /v1/bootstrap with a real client bundle: token source,
// listener, contexts, every value type, status in simple types, restart
// from the cache.
func TestMobileClient(t *testing.T) {
	key := testbundle.NewKey(t)
	iat := time.Now().Add(-time.Hour)
	p := testbundle.Make(t, testbundle.Flags, "production", key, 4, iat, 30*24*time.Hour)
	srv := clienttest.New(t, "eyJ.test.token")
	srv.Set(p.Client, 0, false)
	cfg := &Config{URL: srv.URL + "/v1/bootstrap", Tokens: &tokens{}, JWKS: string(key.JWKS),
		Project: "shop", Environment: "production", CacheDir: filepath.Join(t.TempDir(), "flags"), GraceSeconds: 3600}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := c.Status(); s.Serving != "defaults" || s.Version != 0 {
		t.Fatalf("before a refresh: %+v", s)
	}
	l := &listener{got: make(chan *Status, 4)}
	c.SetListener(l)
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-l.got:
		if s.Serving != "fresh" || s.Version != 4 || s.ExpiresAt != iat.Add(30*24*time.Hour).Unix() || s.LastSuccess == 0 {
			t.Fatalf("listener got %+v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listener not called")
	}

	pro := NewContext("user-1")
	pro.SetString("plan", "pro")
	pro.SetNumber("age", 40)
	pro.SetBool("beta", true)
	if err := pro.SetJSON("device", `{"os":"ios"}`); err != nil {
		t.Fatal(err)
	}
	if err := pro.SetJSON("bad", `{`); err == nil {
		t.Fatal("SetJSON accepted broken JSON")
	}
	us, err := ParseContext(`{"targetingKey":"user-2","country":"US"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseContext(`{"targetingKey":7}`); err == nil {
		t.Fatal("a numeric targetingKey was accepted")
	}
	if _, err := ParseContext(`[1]`); err == nil {
		t.Fatal("a JSON array was accepted as a context")
	}
	if !c.BoolValue("new-checkout", false, pro) || c.BoolValue("new-checkout", true, nil) {
		t.Error("BoolValue")
	}
	if v := c.StringValue("button-color", "none", pro); v != "#1a73e8" && v != "#188038" {
		t.Errorf("StringValue %q", v)
	}
	if got := c.ObjectJSON("banner", "{}", us); got != `{"discountPercent":20,"show":true,"title":"Spring sale"}` {
		t.Errorf("ObjectJSON %s", got)
	}
	if got := c.ObjectJSON("missing", `{"d":1}`, us); got != `{"d":1}` {
		t.Errorf("ObjectJSON default %s", got)
	}
	// retry-limit is server-only: not in the client bundle.
	if c.NumberValue("retry-limit", 9, pro) != 9 || c.IntValue("retry-limit", 9, pro) != 9 {
		t.Error("a server-only flag was evaluated from the client bundle")
	}
	r := c.Evaluate("new-checkout", pro)
	if r.ValueJSON != "true" || r.Variant != "on" || r.Reason != "TARGETING_MATCH" || r.Version != 4 || r.Serving != "fresh" {
		t.Errorf("Evaluate %+v", r)
	}
	if r := c.Evaluate("missing", nil); r.ValueJSON != "" || r.ErrorCode != "FLAG_NOT_FOUND" {
		t.Errorf("Evaluate missing %+v", r)
	}
	c.SetListener(nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart with the server gone: the cache is verified and served.
	srv.Close()
	c2, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Refresh(); err == nil {
		t.Fatal("refresh succeeded with the server gone")
	}
	if s := c2.Status(); s.Serving != "last-known-good" || s.Version != 4 || s.Origin != "cache" || s.LastFailure != "network" {
		t.Fatalf("restart: %+v", s)
	}
	if !c2.BoolValue("new-checkout", false, pro) {
		t.Error("the cached bundle is not evaluated")
	}
	if _, err := NewClient(nil); err == nil {
		t.Error("NewClient(nil) succeeded")
	}
	if _, err := NewClient(&Config{URL: "https://x/v1/bootstrap", JWKS: "{}", Project: "shop", Environment: "production"}); err == nil {
		t.Error("a configuration without keys or tokens was accepted")
	}
}
