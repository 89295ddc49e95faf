package client

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
)

func TestBreaker(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	b := breaker{threshold: 3, base: time.Minute, max: 4 * time.Minute}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for i := 0; i < 2; i++ {
		if !b.allow(t0) {
			t.Fatalf("closed breaker refused attempt %d", i)
		}
		b.failure(t0, 0)
	}
	if s, _ := b.state(t0); s != BreakerClosed {
		t.Fatalf("after 2 of 3 failures: %s", s)
	}
	b.failure(t0, 0)
	if s, until := b.state(t0); s != BreakerOpen || !until.Equal(at(time.Minute)) || b.allow(at(59*time.Second)) {
		t.Fatalf("after 3 failures: %s until %v", s, until)
	}
	// Failed probes double the cooldown up to max.
	for i, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		_, until := b.state(t0)
		now := until
		if s, _ := b.state(now); s != BreakerHalfOpen || !b.allow(now) {
			t.Fatalf("probe %d not allowed at %v", i, now)
		}
		b.failure(now, 0)
		if s, u := b.state(now); s != BreakerOpen || u.Sub(now) != want {
			t.Fatalf("probe %d failed: %s for %v, want %v", i, s, u.Sub(now), want)
		}
		t0 = now
	}
	b.success()
	if s, _ := b.state(t0); s != BreakerClosed || !b.allow(t0) || b.failures != 0 {
		t.Fatalf("after success: %s", s)
	}
	// Retry-After opens at once, for the server's time (capped at max).
	b.failure(t0, 90*time.Second)
	if s, u := b.state(t0); s != BreakerOpen || u.Sub(t0) != 90*time.Second {
		t.Fatalf("Retry-After: %s for %v", s, u.Sub(t0))
	}
	b.success()
	b.failure(t0, time.Hour)
	if _, u := b.state(t0); u.Sub(t0) != 4*time.Minute {
		t.Fatalf("Retry-After beyond max: %v", u.Sub(t0))
	}
}

func TestJitter(t *testing.T) {
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 80 * time.Second}, {0.5, 100 * time.Second}, {0.75, 110 * time.Second}} {
		if got := jittered(100*time.Second, 0.2, c.r); got != c.want {
			t.Errorf("jittered(100s, 0.2, %v) = %v, want %v", c.r, got, c.want)
		}
	}
	if got := jittered(100*time.Second, 0, 0.9); got != 100*time.Second {
		t.Errorf("no jitter: %v", got)
	}
}

// TestNextDelay: the background loop refreshes at once the first time,
// then RefreshInterval ± jitter after the last attempt while the breaker is
// closed, and waits for the breaker (never less) when it is open.
func TestNextDelay(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r := 0.0
	c := &Client{cfg: Config{RefreshInterval: time.Minute, Jitter: 0.5, BreakerCooldown: 10 * time.Second,
		Now: func() time.Time { return now }, Rand: func() float64 { return r }}}
	c.brk = breaker{threshold: 1, base: 10 * time.Second, max: time.Minute}
	if d := c.nextDelay(); d != 0 {
		t.Fatalf("never refreshed: %v", d)
	}
	c.st.LastAttempt = now.Add(-10 * time.Second)
	if d := c.nextDelay(); d != 20*time.Second {
		t.Fatalf("closed, r=0, last attempt 10s ago: %v", d)
	}
	r = 0.99
	if d := c.nextDelay(); d < 79*time.Second || d > 80*time.Second {
		t.Fatalf("closed, r=0.99: %v", d)
	}
	c.brk.failure(now, 0)
	r = 0
	if d := c.nextDelay(); d != 10*time.Second {
		t.Fatalf("open, r=0: %v", d)
	}
	r = 0.5
	if d := c.nextDelay(); d != 12500*time.Millisecond {
		t.Fatalf("open, r=0.5: %v", d)
	}
}

func TestStoreURLs(t *testing.T) {
	cases := map[string]string{
		"s3://flags-bucket":                                      "https://flags-bucket.s3.amazonaws.com/shop/production/",
		"s3://flags-bucket/team/a?region=eu-west-1":              "https://flags-bucket.s3.eu-west-1.amazonaws.com/team/a/shop/production/",
		"s3://flags.example.com/p?region=us-east-2":              "https://s3.us-east-2.amazonaws.com/flags.example.com/p/shop/production/",
		"s3://b12/p?region=us-east-2&pathStyle=true":             "https://s3.us-east-2.amazonaws.com/b12/p/shop/production/",
		"s3://b12?endpoint=http://127.0.0.1:7070&pathStyle=true": "http://127.0.0.1:7070/b12/shop/production/",
		"s3://b12/x?endpoint=https://cdn.example.com":            "https://b12.cdn.example.com/x/shop/production/",
	}
	for in, want := range cases {
		cfg := &Config{URL: in, Audience: "client", Project: "shop", Environment: "production"}
		f, aud, err := newFetcher(cfg)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := f.(storeFetcher).base; got != want || aud != ir.AudienceClient {
			t.Errorf("%s: %s (%v), want %s", in, got, aud, want)
		}
	}
}

// TestConfigErrors: every misconfiguration is refused by New with a
// message that says what to fix.
func TestConfigErrors(t *testing.T) {
	jwks := testbundle.NewKey(t).JWKS
	tok := func(context.Context) (string, error) { return "t", nil }
	base := Config{URL: "https://edge.example.com/v1/flags", APIKey: "efk_x", JWKS: jwks, Project: "shop", Environment: "production"}
	if c, err := New(base); err != nil {
		t.Fatalf("the base configuration: %v", err)
	} else {
		c.Close()
	}
	cases := map[string]struct {
		mod  func(*Config)
		want string
	}{
		"no URL":                  {func(c *Config) { c.URL = "" }, "not a URL"},
		"ftp":                     {func(c *Config) { c.URL = "ftp://x/v1/flags" }, `scheme "ftp"`},
		"plain http":              {func(c *Config) { c.URL = "http://edge.example.com/v1/flags" }, "only for loopback"},
		"user in URL":             {func(c *Config) { c.URL = "https://u:p@edge.example.com/v1/flags" }, "credentials do not belong"},
		"flags without key":       {func(c *Config) { c.APIKey = "" }, "needs an API key"},
		"bootstrap without token": {func(c *Config) { c.URL = "https://e/v1/bootstrap"; c.APIKey = "" }, "needs a client token"},
		"values mode":             {func(c *Config) { c.URL = "https://e/v1/bootstrap?mode=values"; c.APIKey = ""; c.Token = tok }, "does not answer a bundle"},
		"key and token":           {func(c *Config) { c.Token = tok }, "not both"},
		"audience mismatch":       {func(c *Config) { c.Audience = "client" }, "serves the server bundle, not the client one"},
		"bad audience":            {func(c *Config) { c.Audience = "browser" }, `audience "browser"`},
		"object without audience": {func(c *Config) { c.URL = "https://cdn.example.com/shop.jws"; c.APIKey = "" }, "say which bundle"},
		"s3 without audience":     {func(c *Config) { c.URL = "s3://bucket"; c.APIKey = "" }, "say which"},
		"s3 with a key":           {func(c *Config) { c.URL = "s3://bucket"; c.Audience = "client" }, "read anonymously"},
		"s3 object": {func(c *Config) {
			c.URL = "s3://bucket/shop/production/bundles/3.client.jws"
			c.APIKey = ""
			c.Audience = "client"
		}, "names the store"},
		"s3 bad bucket":        {func(c *Config) { c.URL = "s3://B_ad"; c.APIKey = ""; c.Audience = "client" }, "not an S3 bucket name"},
		"s3 unknown parameter": {func(c *Config) { c.URL = "s3://bucket?acl=public"; c.APIKey = ""; c.Audience = "client" }, `unknown parameter "acl"`},
		"s3 dotted, no region": {func(c *Config) { c.URL = "s3://a.b.c"; c.APIKey = ""; c.Audience = "client" }, "needs region="},
		"s3 http endpoint": {func(c *Config) {
			c.URL = "s3://bucket?endpoint=http://minio.lan:9000"
			c.APIKey = ""
			c.Audience = "client"
		}, "only for loopback"},
		"path in project":   {func(c *Config) { c.Project = "../etc" }, "invalid project"},
		"empty environment": {func(c *Config) { c.Environment = "" }, "invalid project or environment"},
		"no JWKS":           {func(c *Config) { c.JWKS = nil }, "trusted keys"},
		"private JWKS":      {func(c *Config) { c.JWKS = []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","d":"x","x":"y"}]}`) }, "trusted keys"},
		"negative grace":    {func(c *Config) { c.Grace = -time.Second }, "must not be negative"},
		"jitter over 1":     {func(c *Config) { c.Jitter = 2 }, "jitter is at most 1"},
	}
	for name, tc := range cases {
		cfg := base
		tc.mod(&cfg)
		c, err := New(cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "new offline client: ") {
			t.Errorf("%s: %v, want it to say %q", name, err, tc.want)
		}
	}
	// Loopback http is fine (tests, a local edgefn serve).
	cfg := base
	cfg.URL = "http://127.0.0.1:8080/v1/flags"
	if c, err := New(cfg); err != nil {
		t.Errorf("loopback http: %v", err)
	} else {
		c.Close()
	}
}

func TestRedact(t *testing.T) {
	u, _ := url.Parse("https://b.s3.amazonaws.com/k.jws?X-Amz-Signature=secret#frag")
	if got := redact(u); got != "https://b.s3.amazonaws.com/k.jws" {
		t.Fatalf("redact = %s", got)
	}
}
