package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

func TestEvaluateBatch(t *testing.T) {
	s := newServer(t, nil)
	body := `{"environment":"production","requests":[
		{"flagKey":"new-checkout","defaultValue":false,"context":{"plan":"pro"}},
		{"flagKey":"retry-limit","defaultValue":7,"context":{"age":40}},
		{"flagKey":"banner","defaultValue":{"show":false},"context":{"country":"FR"}},
		{"flagKey":"missing","defaultValue":"fallback"},
		{"flagKey":"new-checkout","defaultValue":"wrong type"},
		{"flagKey":"button-color"}
	],"options":{"includeReasons":true}}`
	a := s.do("POST", "/v1/evaluate", body, key(fixture.Backend)...)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	want := `{"environment":"production","version":1,"results":[
		{"flagKey":"new-checkout","value":true,"variant":"on","reason":"TARGETING_MATCH","ruleId":"pro","metadata":{"description":"Redesigned checkout","owner":"payments","ruleId":"pro","version":1}},
		{"flagKey":"retry-limit","value":2,"variant":"some","reason":"DEFAULT","metadata":{"version":1}},
		{"flagKey":"banner","value":{"show":false},"variant":"none","reason":"DEFAULT","metadata":{"version":1}},
		{"flagKey":"missing","value":"fallback","errorCode":"FLAG_NOT_FOUND","errorMessage":"flag \"missing\" was not found","reason":"ERROR"},
		{"flagKey":"new-checkout","value":"wrong type","errorCode":"TYPE_MISMATCH","errorMessage":"flag \"new-checkout\" is not of the default value's type (string)","reason":"ERROR"},
		{"flagKey":"button-color","value":"#1a73e8","variant":"blue","errorCode":"TARGETING_KEY_MISSING","errorMessage":"the flag splits traffic but the context has no value to bucket on; served the default variant","reason":"DEFAULT","metadata":{"version":1,"errorCode":"TARGETING_KEY_MISSING"}}
	]}`
	if got := strings.TrimSpace(string(a.body)); got != compact(t, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, compact(t, want))
	}
	// Without includeReasons: value, variant and errors only.
	a = s.do("POST", "/v1/evaluate", `{"requests":[{"flagKey":"new-checkout","context":{"plan":"pro"}},{"flagKey":"x","defaultValue":1}]}`, key(fixture.Backend)...)
	if got := strings.TrimSpace(string(a.body)); got != `{"environment":"production","version":1,"results":[{"flagKey":"new-checkout","value":true,"variant":"on"},{"flagKey":"x","value":1,"errorCode":"FLAG_NOT_FOUND","errorMessage":"flag \"x\" was not found"}]}` {
		t.Fatalf("short form %s", got)
	}
	if a := s.do("POST", "/v1/evaluate", `{"environment":"staging","requests":[{"flagKey":"x"}]}`, key(fixture.Backend)...); a.status != 400 || !strings.Contains(a.json(t)["message"].(string), "shop/production") {
		t.Fatalf("other environment: %d %s", a.status, a.body)
	}
	// A token evaluates its granted client-side flags with its subject and
	// attributes; others answer like missing flags.
	tok := s.env.Mint(auth.TokenRequest{Subject: "u-9", Flags: []string{"new-checkout"}, Attributes: map[string]any{"plan": "pro"}, Scopes: []string{"evaluate"}})
	a = s.do("POST", "/v1/evaluate", `{"requests":[{"flagKey":"new-checkout","defaultValue":false,"context":{"plan":"free"}},{"flagKey":"banner","defaultValue":null}]}`, bearer(tok)...)
	if got := strings.TrimSpace(string(a.body)); got != `{"environment":"production","version":1,"results":[{"flagKey":"new-checkout","value":true,"variant":"on"},{"flagKey":"banner","value":null,"errorCode":"FLAG_NOT_FOUND","errorMessage":"flag \"banner\" was not found"}]}` {
		t.Fatalf("token batch %s", got)
	}
}

func TestFlagsAndBootstrap(t *testing.T) {
	s := newServer(t, nil)
	snap := s.env.Source.Current()
	a := s.do("GET", "/v1/flags", "", key(fixture.Reader)...)
	if a.status != 200 || !bytes.Equal(a.body, snap.Server.Raw) || a.header.Get("ETag") != snap.Server.ETag ||
		a.header.Get("Content-Type") != "application/jose" || a.header.Get("Cache-Control") != "private, no-cache" || a.header.Get("X-Edgeflag-Version") != "1" {
		t.Fatalf("flags: %d %v", a.status, a.header)
	}
	if a := s.do("GET", "/v1/flags", "", append(key(fixture.Reader), "If-None-Match", snap.Server.ETag)...); a.status != 304 || len(a.body) != 0 {
		t.Fatalf("flags 304: %d", a.status)
	}
	if a := s.do("GET", "/v1/flags", "", key(fixture.Issuer)...); a.status != 403 {
		t.Fatalf("flags without flags:read: %d", a.status)
	}
	all := s.env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"bootstrap"}})
	if a := s.do("GET", "/v1/flags", "", bearer(all)...); a.status != 403 {
		t.Fatalf("flags with a client token: %d", a.status)
	}

	a = s.do("GET", "/v1/bootstrap", "", bearer(all)...)
	if a.status != 200 || !bytes.Equal(a.body, snap.Client.Raw) || a.header.Get("ETag") != snap.Client.ETag {
		t.Fatalf("bootstrap: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/v1/bootstrap?mode=bundle", "", append(bearer(all), "If-None-Match", snap.Client.ETag)...); a.status != 304 {
		t.Fatalf("bootstrap 304: %d", a.status)
	}
	if a := s.do("GET", "/v1/bootstrap", "", key(fixture.Backend)...); a.status != 403 {
		t.Fatalf("bootstrap with an API key: %d", a.status)
	}
	some := s.env.Mint(auth.TokenRequest{Subject: "u-1", Flags: []string{"new-checkout", "banner"}, Attributes: map[string]any{"plan": "pro", "country": "US"}, Scopes: []string{"bootstrap"}})
	if a := s.do("GET", "/v1/bootstrap", "", bearer(some)...); a.status != 403 || !strings.Contains(string(a.body), "mode=values") {
		t.Fatalf("bundle for a partial grant: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/v1/bootstrap?mode=nope", "", bearer(some)...); a.status != 400 {
		t.Fatalf("bad mode: %d", a.status)
	}
	if a := s.do("GET", "/v1/bootstrap?x=1", "", bearer(some)...); a.status != 400 {
		t.Fatalf("unknown parameter: %d", a.status)
	}
	noScope := s.env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}})
	if a := s.do("GET", "/v1/bootstrap", "", bearer(noScope)...); a.status != 403 {
		t.Fatalf("bootstrap without the scope: %d", a.status)
	}

	// Values mode: signed by the token key, verifiable with /v1/keys.
	v := s.do("GET", "/v1/bootstrap?mode=values", "", bearer(some)...)
	if v.status != 200 || v.header.Get("Content-Type") != "application/jose" || v.header.Get("ETag") == "" {
		t.Fatalf("values: %d %v %s", v.status, v.header, v.body)
	}
	jwks := s.do("GET", "/v1/keys", "", bearer(some)...)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks.body, &set); err != nil || len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Fatalf("keys: %v %s", err, jwks.body)
	}
	jws, err := jose.ParseSignedCompact(string(v.body), []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if jws.Signatures[0].Header.KeyID != set.Keys[0].KeyID || jws.Signatures[0].Header.ExtraHeaders["typ"] != auth.ValuesType {
		t.Fatalf("values header %+v", jws.Signatures[0].Header)
	}
	payload, err := jws.Verify(set.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var vals struct {
		Project, Environment, Subject string
		Version                       uint64
		IssuedAt, ExpiresAt           int64
		Flags                         map[string]map[string]any
	}
	if err := json.Unmarshal(payload, &vals); err != nil {
		t.Fatal(err)
	}
	if vals.Project != "shop" || vals.Environment != "production" || vals.Subject != "u-1" || vals.Version != 1 ||
		vals.IssuedAt != fixture.T0.Unix() || vals.ExpiresAt != fixture.T0.Add(auth.DefaultTokenTTL).Unix() || len(vals.Flags) != 2 {
		t.Fatalf("values payload %s", payload)
	}
	if vals.Flags["new-checkout"]["value"] != true || vals.Flags["banner"]["variant"] != "spring" {
		t.Fatalf("values: the token's attributes were not applied: %s", payload)
	}
	if a := s.do("GET", "/v1/bootstrap?mode=values", "", append(bearer(some), "If-None-Match", v.header.Get("ETag"))...); a.status != 304 {
		t.Fatalf("values 304: %d", a.status)
	}
}

func TestTokensEndpoint(t *testing.T) {
	s := newServer(t, nil)
	a := s.do("POST", "/v1/tokens", `{"subject":"u-1","flags":["new-checkout"],"attributes":{"plan":"pro"},"scopes":["bootstrap","track"],"ttlSeconds":600}`, key(fixture.Issuer)...)
	if a.status != 200 || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	m := a.json(t)
	if len(m) != 2 || m["expiresAt"] != fixture.T0.Add(10*time.Minute).Format(time.RFC3339) {
		t.Fatalf("answer %v", m)
	}
	tok, err := s.env.Tokens.Verify(m["token"].(string), "shop", "production", fixture.T0)
	if err != nil || tok.Subject != "u-1" || !reflect.DeepEqual(tok.Flags, []string{"new-checkout"}) || tok.Attributes["plan"] != "pro" || !tok.HasScope("track") {
		t.Fatalf("minted token %+v %v", tok, err)
	}
	bad := map[string]string{
		"ttl over an hour":     `{"subject":"u","scopes":["bootstrap"],"ttlSeconds":7200}`,
		"fractional ttl":       `{"subject":"u","scopes":["bootstrap"],"ttlSeconds":1.5}`,
		"unknown scope":        `{"subject":"u","scopes":["admin"]}`,
		"no scopes":            `{"subject":"u","scopes":[]}`,
		"no subject":           `{"scopes":["bootstrap"]}`,
		"server-only flag":     `{"subject":"u","scopes":["bootstrap"],"flags":["secret-pricing"]}`,
		"unknown flag":         `{"subject":"u","scopes":["bootstrap"],"flags":["nope"]}`,
		"targetingKey attr":    `{"subject":"u","scopes":["bootstrap"],"attributes":{"targetingKey":"x"}}`,
		"unknown field":        `{"subject":"u","scopes":["bootstrap"],"admin":true}`,
		"attributes not a map": `{"subject":"u","scopes":["bootstrap"],"attributes":[1]}`,
	}
	for name, body := range bad {
		a := s.do("POST", "/v1/tokens", body, key(fixture.Issuer)...)
		if a.status != 400 || a.json(t)["error"] == "" {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	if a := s.do("POST", "/v1/tokens", `{"subject":"u","scopes":["bootstrap"]}`, key(fixture.Reader)...); a.status != 403 {
		t.Fatalf("reader minting: %d", a.status)
	}
	tk := s.env.Mint(auth.TokenRequest{Subject: "u", Scopes: []string{"bootstrap", "evaluate", "track"}})
	if a := s.do("POST", "/v1/tokens", `{"subject":"u","scopes":["bootstrap"]}`, bearer(tk)...); a.status != 403 {
		t.Fatalf("a client token minting tokens: %d", a.status)
	}
}

// TestAuthCases covers the list of auth tests over HTTP.
func TestAuthCases(t *testing.T) {
	s := newServer(t, nil)
	path := "/ofrep/v1/evaluate/flags/new-checkout"
	body := `{"context":{"targetingKey":"someone-else","plan":"free"}}`
	good := s.env.Mint(auth.TokenRequest{Subject: "u-1", Attributes: map[string]any{"plan": "pro"}, Scopes: []string{"evaluate"}})
	otherJWK, _ := fixture.TokenKeyJWK(t)
	otherKeys, err := auth.ParseTokenKeys(otherJWK)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, _ := otherKeys.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}}, "shop", "production", fixture.T0)
	expired, _, _ := s.env.Tokens.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}, TTL: time.Minute}, "shop", "production", fixture.T0.Add(-10*time.Minute))
	future, _, _ := s.env.Tokens.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}}, "shop", "production", fixture.T0.Add(10*time.Minute))
	staging, _, _ := s.env.Tokens.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate"}}, "shop", "staging", fixture.T0)
	trackOnly := s.env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"track"}})
	parts := strings.Split(good, ".")
	b64 := func(s string) string { return strings.TrimRight(jsonB64(s), "=") }
	none := b64(`{"alg":"none","kid":"`+s.env.Tokens.SigningKeyID()+`","typ":"edgeflag-token+jwt"}`) + "." + parts[1] + "."
	hs := hs256(b64(`{"alg":"HS256","kid":"`+s.env.Tokens.SigningKeyID()+`","typ":"edgeflag-token+jwt"}`)+"."+parts[1], []byte(s.env.TokenPriv.Public().(ed25519.PublicKey)))
	cases := []struct {
		name   string
		h      []string
		status int
	}{
		{"no token", nil, 401},
		{"expired", bearer(expired), 401},
		{"not yet valid", bearer(future), 401},
		{"another key's signature", bearer(foreign), 401},
		{"alg none", bearer(none), 401},
		{"HS256 with the public key", bearer(hs), 401},
		{"another environment", bearer(staging), 403},
		{"a scope not granted", bearer(trackOnly), 403},
		{"API key of another project", key(fixture.Other), 403},
		{"API key without flags:read", key(fixture.Issuer), 403},
		{"unknown API key", key("efk_unknown"), 401},
	}
	for _, c := range cases {
		a := s.do("POST", path, body, c.h...)
		m := a.json(t)
		if a.status != c.status || m["errorCode"] != "GENERAL" || m["key"] != "new-checkout" || m["errorDetails"] == "" {
			t.Errorf("%s: %d %s, want %d with an OFREP error body", c.name, a.status, a.body, c.status)
		}
		if c.status == 401 && a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	// A forged attribute is ignored: the token says plan pro, the client
	// says free, and the client's targeting key is replaced by the subject.
	a := s.do("POST", path, body, bearer(good)...)
	if a.status != 200 || a.json(t)["value"] != true {
		t.Fatalf("token attributes did not override the client's: %d %s", a.status, a.body)
	}
	// The same request with an API key evaluates what the caller sent.
	if a := s.do("POST", path, body, key(fixture.Backend)...); a.json(t)["value"] != false {
		t.Fatalf("API key evaluation %s", a.body)
	}
	// The reader key is restricted to projects that include shop.
	if a := s.do("POST", path, body, key(fixture.Reader)...); a.status != 200 {
		t.Fatalf("reader: %d", a.status)
	}
}

func TestRateLimits(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Rates = map[string]*auth.Rate{api.RouteOFREP: {PerSecond: 1, Burst: 2}, api.RouteEvaluate: nil}
	})
	path := "/ofrep/v1/evaluate/flags/new-checkout"
	body := `{"context":{}}`
	for i := 0; i < 2; i++ {
		a := s.do("POST", path, body, key(fixture.Backend)...)
		if a.status != 200 || a.header.Get("X-RateLimit-Limit") != "2" || a.header.Get("X-RateLimit-Remaining") != []string{"1", "0"}[i] {
			t.Fatalf("request %d: %d %v", i, a.status, a.header)
		}
	}
	a := s.do("POST", path, body, key(fixture.Backend)...)
	if a.status != 429 || a.header.Get("Retry-After") != "1" || a.header.Get("X-RateLimit-Remaining") != "0" || a.header.Get("X-RateLimit-Reset") != "2" {
		t.Fatalf("over the limit: %d %v %s", a.status, a.header, a.body)
	}
	if m := a.json(t); m["errorCode"] != "GENERAL" || m["key"] != "new-checkout" {
		t.Fatalf("429 body %s", a.body)
	}
	// Another credential has its own bucket; the clock refills.
	if a := s.do("POST", path, body, key(fixture.Reader)...); a.status != 200 {
		t.Fatalf("another key: %d", a.status)
	}
	s.env.SetNow(fixture.T0.Add(time.Second))
	if a := s.do("POST", path, body, key(fixture.Backend)...); a.status != 200 {
		t.Fatalf("after a second: %d", a.status)
	}
	// A route whose limit is off sends no rate headers.
	for i := 0; i < 5; i++ {
		if a := s.do("POST", "/v1/evaluate", `{"requests":[{"flagKey":"x"}]}`, key(fixture.Backend)...); a.status != 200 || a.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("unlimited route: %d %v", a.status, a.header)
		}
	}
	if _, err := api.New(api.Config{Source: s.env.Source, Auth: s.env.Auth, Metrics: s.env.Metrics, Rates: map[string]*auth.Rate{"nope": nil}}); err == nil {
		t.Fatal("unknown route in Rates accepted")
	}
}

func TestCORS(t *testing.T) {
	s := newServer(t, nil)
	a := s.do("OPTIONS", "/ofrep/v1/evaluate/flags", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, if-none-match")
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "If-None-Match") ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", a.status, a.header)
	}
	b := s.do("POST", "/ofrep/v1/evaluate/flags", `{"context":{}}`, append(key(fixture.Backend), "Origin", "https://app.example")...)
	if !strings.Contains(b.header.Get("Access-Control-Expose-Headers"), "ETag") || b.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("actual request: %v", b.header)
	}
	r := newServer(t, func(c *api.Config) { c.CORSOrigins = []string{"https://app.example"} })
	if a := r.do("OPTIONS", "/v1/bootstrap", "", "Origin", "https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", a.header)
	}
	if a := r.do("OPTIONS", "/v1/bootstrap", "", "Origin", "https://app.example"); a.header.Get("Access-Control-Allow-Origin") != "https://app.example" || a.header.Get("Vary") != "Origin" {
		t.Fatalf("listed origin: %v", a.header)
	}
}

func TestHealthzMetricsKeys(t *testing.T) {
	s := newServer(t, nil)
	h := s.do("GET", "/healthz", "")
	m := h.json(t)
	if h.status != 200 || m["status"] != "ok" || m["version"] != 1.0 || m["ageSeconds"] != 3600.0 || m["lastKnownGood"] != false || m["project"] != "shop" {
		t.Fatalf("healthz %d %s", h.status, h.body)
	}
	// A failed refresh: degraded, still 200, the reason named.
	s.env.Publish(2)
	if err := s.env.Store.Put(context.Background(), "shop/production/bundles/2.server.jws", []byte("x"), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	_ = s.env.Source.Refresh(context.Background())
	m = s.do("GET", "/healthz", "").json(t)
	if m["status"] != "degraded" || m["lastKnownGood"] != true || m["lastFailure"] != "digest" || m["version"] != 1.0 || strings.Contains(string(s.do("GET", "/healthz", "").body), "bundles/") {
		t.Fatalf("degraded healthz %v", m)
	}
	// Expired: 503.
	s.env.SetNow(fixture.T0.Add(40 * 24 * time.Hour))
	if a := s.do("GET", "/healthz", ""); a.status != 503 || a.json(t)["status"] != "expired" {
		t.Fatalf("expired healthz: %d %s", a.status, a.body)
	}
	s.env.SetNow(fixture.T0)

	s.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", `{"context":{"plan":"pro"}}`, key(fixture.Backend)...)
	if a := s.do("GET", "/metrics", ""); a.status != 401 {
		t.Fatalf("metrics without a key: %d", a.status)
	}
	tok := s.env.Mint(auth.TokenRequest{Subject: "u", Scopes: []string{"evaluate"}})
	if a := s.do("GET", "/metrics", "", bearer(tok)...); a.status != 403 {
		t.Fatalf("metrics with a token: %d", a.status)
	}
	a := s.do("GET", "/metrics", "", key(fixture.Issuer)...)
	for _, want := range []string{
		`edgefn_evaluations_total{flag="new-checkout",variant="on",reason="TARGETING_MATCH"} 1`,
		`edgefn_requests_total{route="ofrep",status="200"} 1`,
		`edgefn_bundle_version 1`, `edgefn_last_known_good 1`, `edgefn_refresh_failures_total{reason="digest"} 1`,
		`edgefn_request_duration_seconds_count{route="healthz"}`,
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if a := s.do("GET", "/v1/keys", ""); a.status != 401 {
		t.Fatalf("keys without credentials: %d", a.status)
	}
	if a := s.do("GET", "/v1/keys", "", key(fixture.Issuer)...); a.status != 200 || a.header.Get("Content-Type") != "application/jwk-set+json" || strings.Contains(string(a.body), `"d"`) {
		t.Fatalf("keys: %d %v %s", a.status, a.header, a.body)
	}
}

func TestRoutesAndMethods(t *testing.T) {
	s := newServer(t, nil)
	a := s.do("GET", "/nope", "")
	if a.status != 404 || a.json(t)["error"] != "not_found" {
		t.Fatalf("unknown path: %d %s", a.status, a.body)
	}
	a = s.do("GET", "/ofrep/v1/evaluate/flags/x", "")
	if a.status != 405 || a.header.Get("Allow") != "POST" || a.json(t)["errorCode"] != "GENERAL" {
		t.Fatalf("wrong method: %d %v %s", a.status, a.header, a.body)
	}
	if a := s.do("DELETE", "/v1/flags", "", key(fixture.Backend)...); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("DELETE /v1/flags: %d %v", a.status, a.header)
	}
	a = s.do("GET", "/healthz", "", "X-Request-Id", "trace-123")
	if a.header.Get("X-Request-Id") != "trace-123" {
		t.Fatalf("request id not echoed: %v", a.header)
	}
	if a := s.do("GET", "/healthz", "", "X-Request-Id", "bad id"); a.header.Get("X-Request-Id") == "bad id" || len(a.header.Get("X-Request-Id")) != 24 {
		t.Fatalf("invalid request id kept: %q", a.header.Get("X-Request-Id"))
	}
}

func TestTrackSeam(t *testing.T) {
	s := newServer(t, nil)
	if a := s.do("POST", "/v1/track", `{"events":[]}`); a.status != 401 {
		t.Fatalf("track without credentials: %d", a.status)
	}
	if a := s.do("POST", "/v1/track", `{"events":[]}`, key(fixture.Backend)...); a.status != 501 || a.json(t)["error"] != "not_implemented" {
		t.Fatalf("track without a handler: %d %s", a.status, a.body)
	}
	var seen []string
	s = newServer(t, func(c *api.Config) {
		c.Track = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := api.PrincipalFrom(r.Context())
			if !ok {
				t.Error("no principal in the track handler's context")
			}
			seen = append(seen, p.ID())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(202)
			io.WriteString(w, `{"accepted":0,"duplicates":0,"rejected":[]}`)
		})
	})
	tok := s.env.Mint(auth.TokenRequest{Subject: "u", Scopes: []string{"track"}})
	noTrack := s.env.Mint(auth.TokenRequest{Subject: "u", Scopes: []string{"evaluate"}})
	if a := s.do("POST", "/v1/track", `{"events":[]}`, bearer(tok)...); a.status != 202 {
		t.Fatalf("track with a token: %d", a.status)
	}
	if a := s.do("POST", "/v1/track", `{"events":[]}`, key(fixture.Backend)...); a.status != 202 {
		t.Fatalf("track with events:write: %d", a.status)
	}
	if a := s.do("POST", "/v1/track", `{}`, bearer(noTrack)...); a.status != 403 {
		t.Fatalf("track without the scope: %d", a.status)
	}
	if a := s.do("POST", "/v1/track", `{}`, key(fixture.Reader)...); a.status != 403 {
		t.Fatalf("track without events:write: %d", a.status)
	}
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "token:") || seen[1] != "key:backend" {
		t.Fatalf("principals %v", seen)
	}
}

type sink struct{ got []api.Exposure }

func (s *sink) Exposures(_ context.Context, b []api.Exposure) { s.got = append(s.got, b...) }

func TestExposureSink(t *testing.T) {
	sk := &sink{}
	s := newServer(t, func(c *api.Config) { c.Exposures = sk })
	s.do("POST", "/ofrep/v1/evaluate/flags/new-checkout", `{"context":{"targetingKey":"u-7","plan":"pro"}}`, key(fixture.Backend)...)
	s.do("POST", "/ofrep/v1/evaluate/flags/missing", `{"context":{"targetingKey":"u-7"}}`, key(fixture.Backend)...)
	s.do("POST", "/v1/evaluate", `{"requests":[{"flagKey":"retry-limit","context":{"targetingKey":"u-8"}},{"flagKey":"x"}]}`, key(fixture.Backend)...)
	if len(sk.got) != 2 {
		t.Fatalf("exposures %+v", sk.got)
	}
	e := sk.got[0]
	if e.Flag != "new-checkout" || e.Variant != "on" || e.Unit != "u-7" || e.Route != "ofrep" || e.Version != 1 || e.Principal != "key:backend" || !e.Time.Equal(fixture.T0) {
		t.Fatalf("exposure %+v", e)
	}
	if sk.got[1].Flag != "retry-limit" || sk.got[1].Unit != "u-8" || sk.got[1].Route != "evaluate" {
		t.Fatalf("exposure %+v", sk.got[1])
	}
}

func TestStream(t *testing.T) {
	shutdown := make(chan struct{})
	s := newServer(t, func(c *api.Config) { c.Shutdown = shutdown; c.Heartbeat = 50 * time.Millisecond })
	req, _ := http.NewRequest("GET", s.srv.URL+"/v1/stream", nil)
	req.Header.Set("X-API-Key", fixture.Reader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	rd := bufio.NewReader(resp.Body)
	next := func() string {
		var ev []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("read stream: %v (so far %q)", err, ev)
			}
			if line == "\n" {
				return strings.Join(ev, "")
			}
			ev = append(ev, line)
		}
	}
	first := next()
	snap := s.env.Source.Current()
	want := "id: 1\nevent: message\ndata: {\"type\":\"refetchEvaluation\",\"version\":1,\"etag\":" + jsonString(snap.Server.ETag) + ",\"lastModified\":" + itoa(snap.IssuedAt.Unix()) + "}\n"
	if first != want {
		t.Fatalf("first event %q, want %q", first, want)
	}
	if hb := next(); !strings.HasPrefix(hb, ": heartbeat ") {
		t.Fatalf("heartbeat %q", hb)
	}
	s.env.Publish(2)
	if err := s.env.Source.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next()
		if strings.HasPrefix(ev, ": heartbeat") {
			continue
		}
		if !strings.HasPrefix(ev, "id: 2\n") || !strings.Contains(ev, `"version":2`) {
			t.Fatalf("second event %q", ev)
		}
		break
	}
	close(shutdown)
	for {
		if _, err := rd.ReadString('\n'); err != nil {
			break // the server ended the stream
		}
	}
	lambda := newServer(t, func(c *api.Config) { c.Stream = false })
	if a := lambda.do("GET", "/v1/stream", "", key(fixture.Reader)...); a.status != 501 || !strings.Contains(string(a.body), "poll") {
		t.Fatalf("stream in Lambda: %d %s", a.status, a.body)
	}
}

func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	s := newServer(t, func(c *api.Config) { c.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
	s.do("POST", "/ofrep/v1/evaluate/flags/nope", `{"context":{}}`, append(key(fixture.Backend), "X-Request-Id", "req-42")...)
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line["msg"] != "request" || line["requestId"] != "req-42" || line["status"] != 404.0 || line["route"] != "ofrep" ||
		line["caller"] != "key:backend" || line["error"] != `flag "nope" was not found` {
		t.Fatalf("log line %v", line)
	}
	if strings.Contains(buf.String(), fixture.Backend) {
		t.Fatal("the API key secret is in the log")
	}
}
