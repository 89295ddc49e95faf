package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/edgefn/auth"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func hashOf(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

const (
	backendSecret = "efk_backend-secret"
	otherSecret   = "efk_other-project"
	readSecret    = "efk_read-only"
)

func keysFile() string {
	return `keys:
  - name: backend
    sha256: ` + hashOf(backendSecret) + `
    scopes: [flags:read, tokens:issue, events:write]
  - name: other
    sha256: ` + hashOf(otherSecret) + `
    scopes: [flags:read]
    projects: [billing]
  - name: reader
    sha256: ` + hashOf(readSecret) + `
    scopes: [flags:read]
    projects: [billing, shop]
`
}

func TestParseKeys(t *testing.T) {
	ks, err := auth.ParseKeys([]byte(keysFile()))
	if err != nil {
		t.Fatal(err)
	}
	k, ok := ks.Lookup(backendSecret)
	if !ok || k.Name != "backend" || !k.HasScope(auth.ScopeTokensIssue) || !k.AllowsProject("anything") {
		t.Fatalf("backend: %+v %v", k, ok)
	}
	k, ok = ks.Lookup(otherSecret)
	if !ok || k.AllowsProject("shop") || !k.AllowsProject("billing") || k.HasScope(auth.ScopeTokensIssue) {
		t.Fatalf("other: %+v", k)
	}
	for _, s := range []string{"", "efk_", backendSecret + "x", hashOf(backendSecret)} {
		if _, ok := ks.Lookup(s); ok {
			t.Errorf("Lookup(%q) matched", s)
		}
	}
	h := hashOf("x")
	bad := map[string]string{
		"unknown field":   "keys:\n  - name: a\n    sha256: " + h + "\n    scopes: [flags:read]\n    secret: x\n",
		"unknown scope":   "keys:\n  - name: a\n    sha256: " + h + "\n    scopes: [flags:write]\n",
		"no scopes":       "keys:\n  - name: a\n    sha256: " + h + "\n",
		"short hash":      "keys:\n  - name: a\n    sha256: abcd\n    scopes: [flags:read]\n",
		"upper-case hash": "keys:\n  - name: a\n    sha256: " + strings.ToUpper(h) + "\n    scopes: [flags:read]\n",
		"duplicate name":  "keys:\n  - {name: a, sha256: " + h + ", scopes: [flags:read]}\n  - {name: a, sha256: " + hashOf("y") + ", scopes: [flags:read]}\n",
		"duplicate hash":  "keys:\n  - {name: a, sha256: " + h + ", scopes: [flags:read]}\n  - {name: b, sha256: " + h + ", scopes: [flags:read]}\n",
		"duplicate key":   "keys:\n  - {name: a, name: b, sha256: " + h + ", scopes: [flags:read]}\n",
		"empty projects":  "keys:\n  - {name: a, sha256: " + h + ", scopes: [flags:read], projects: []}\n",
		"no keys":         "keys: []\n",
		"no name":         "keys:\n  - {sha256: " + h + ", scopes: [flags:read]}\n",
		"two documents":   "keys:\n  - {name: a, sha256: " + h + ", scopes: [flags:read]}\n---\nkeys: []\n",
		"not yaml":        "{{{",
	}
	for name, f := range bad {
		if _, err := auth.ParseKeys([]byte(f)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// tokenKey is a private Ed25519 JWK (as `edgeflag keygen` writes) and its key.
func tokenKey(t testing.TB) ([]byte, ed25519.PrivateKey, string) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := (&jose.JSONWebKey{Key: priv.Public()}).Thumbprint(crypto.SHA256)
	kid := base64.RawURLEncoding.EncodeToString(tp)
	data, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: "EdDSA", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return data, priv, kid
}

func mustTokenKeys(t *testing.T, data []byte) *auth.TokenKeys {
	t.Helper()
	tk, err := auth.ParseTokenKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func mint(t *testing.T, tk *auth.TokenKeys, req auth.TokenRequest, at time.Time) string {
	t.Helper()
	tok, _, err := tk.Mint(req, "shop", "production", at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var basicReq = auth.TokenRequest{Subject: "u-1", Flags: []string{"new-checkout"}, Attributes: map[string]any{"plan": "pro"}, Scopes: []string{"bootstrap", "evaluate"}, TTL: 10 * time.Minute}

func TestMintVerify(t *testing.T) {
	data, _, kid := tokenKey(t)
	tk := mustTokenKeys(t, data)
	tok, exp, err := tk.Mint(basicReq, "shop", "production", now)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("expiry %v", exp)
	}
	got, err := tk.Verify(tok, "shop", "production", now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "u-1" || got.KeyID != kid || !got.Grants("new-checkout") || got.Grants("other") ||
		got.Attributes["plan"] != "pro" || !got.HasScope("evaluate") || got.HasScope("track") || got.ID == "" {
		t.Fatalf("token %+v", got)
	}
	all := mint(t, tk, auth.TokenRequest{Subject: "u", Scopes: []string{"bootstrap"}}, now)
	if got, err := tk.Verify(all, "shop", "production", now); err != nil || got.Flags != nil || !got.Grants("anything") {
		t.Fatalf("token without flags: %+v %v", got, err)
	}
	none := mint(t, tk, auth.TokenRequest{Subject: "u", Scopes: []string{"bootstrap"}, Flags: []string{}}, now)
	if got, err := tk.Verify(none, "shop", "production", now); err != nil || got.Grants("anything") {
		t.Fatalf("token with an empty grant: %+v %v", got, err)
	}
	for _, bad := range []auth.TokenRequest{
		{Subject: "u", Scopes: []string{"bootstrap"}, TTL: 2 * time.Hour},
		{Subject: "", Scopes: []string{"bootstrap"}},
		{Subject: "u"},
		{Subject: "u", Scopes: []string{"admin"}},
	} {
		if _, _, err := tk.Mint(bad, "shop", "production", now); err == nil {
			t.Errorf("Mint(%+v) accepted", bad)
		}
	}
}

// signRaw builds a compact JWS by hand with any header.
func signRaw(header, payload map[string]any, sign func([]byte) []byte) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func claims(at time.Time) map[string]any {
	return map[string]any{"iss": "edgefn", "sub": "u-1", "jti": "j1", "iat": at.Unix(), "nbf": at.Unix(), "exp": at.Add(10 * time.Minute).Unix(),
		"prj": "shop", "env": "production", "scp": []string{"evaluate"}}
}

// TestVerifyRejects covers every bad token of the auth tests list.
func TestVerifyRejects(t *testing.T) {
	data, priv, kid := tokenKey(t)
	tk := mustTokenKeys(t, data)
	_, otherPriv, otherKid := tokenKey(t)
	pub := priv.Public().(ed25519.PublicKey)
	ed := func(k ed25519.PrivateKey) func([]byte) []byte {
		return func(in []byte) []byte { return ed25519.Sign(k, in) }
	}
	hdr := func(alg, kid string) map[string]any {
		return map[string]any{"alg": alg, "kid": kid, "typ": auth.TokenType}
	}
	// Sanity: the hand-built token verifies when nothing is wrong.
	good := signRaw(hdr("EdDSA", kid), claims(now), ed(priv))
	if _, err := tk.Verify(good, "shop", "production", now); err != nil {
		t.Fatalf("hand-built token: %v", err)
	}
	values, err := tk.SignValues([]byte(`{"sub":"u-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	expiredClaims := claims(now.Add(-time.Hour))
	longClaims := claims(now)
	longClaims["exp"] = now.Add(2 * time.Hour).Unix()
	noScope := claims(now)
	delete(noScope, "scp")
	cases := map[string]struct {
		tok  string
		want error
	}{
		"expired":                {mint(t, tk, basicReq, now.Add(-11*time.Minute)), auth.ErrInvalidToken},
		"expired, hand-built":    {signRaw(hdr("EdDSA", kid), expiredClaims, ed(priv)), auth.ErrInvalidToken},
		"not yet valid":          {mint(t, tk, basicReq, now.Add(5*time.Minute)), auth.ErrInvalidToken},
		"another key, its kid":   {signRaw(hdr("EdDSA", otherKid), claims(now), ed(otherPriv)), auth.ErrInvalidToken},
		"another key, our kid":   {signRaw(hdr("EdDSA", kid), claims(now), ed(otherPriv)), auth.ErrInvalidToken},
		"alg none":               {signRaw(hdr("none", kid), claims(now), func([]byte) []byte { return nil }), auth.ErrInvalidToken},
		"HS256 with the pub key": {signRaw(hdr("HS256", kid), claims(now), func(in []byte) []byte { m := hmac.New(sha256.New, pub); m.Write(in); return m.Sum(nil) }), auth.ErrInvalidToken},
		"ES256 header, Ed key":   {signRaw(hdr("ES256", kid), claims(now), ed(priv)), auth.ErrInvalidToken},
		"another environment":    {func() string { tok, _, _ := tk.Mint(basicReq, "shop", "staging", now); return tok }(), auth.ErrOtherEnvironment},
		"another project":        {func() string { tok, _, _ := tk.Mint(basicReq, "billing", "production", now); return tok }(), auth.ErrOtherEnvironment},
		"values JWS as a token":  {values, auth.ErrInvalidToken},
		"no typ":                 {signRaw(map[string]any{"alg": "EdDSA", "kid": kid}, claims(now), ed(priv)), auth.ErrInvalidToken},
		"embedded jwk":           {signRaw(map[string]any{"alg": "EdDSA", "kid": kid, "typ": auth.TokenType, "jku": "https://evil.example/jwks"}, claims(now), ed(priv)), auth.ErrInvalidToken},
		"lifetime over 1h":       {signRaw(hdr("EdDSA", kid), longClaims, ed(priv)), auth.ErrInvalidToken},
		"missing scopes":         {signRaw(hdr("EdDSA", kid), noScope, ed(priv)), auth.ErrInvalidToken},
		"garbage":                {"not.a.token", auth.ErrInvalidToken},
		"huge":                   {strings.Repeat("a", 20000), auth.ErrInvalidToken},
		"tampered payload":       {tamper(good), auth.ErrInvalidToken},
	}
	for name, c := range cases {
		got, err := tk.Verify(c.tok, "shop", "production", now)
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: Verify = %+v, %v; want %v", name, got, err, c.want)
		}
	}
}

// tamper changes the subject in a token's payload, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p = []byte(strings.Replace(string(p), `"u-1"`, `"admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

func TestTokenKeyRotation(t *testing.T) {
	oldData, _, oldKid := tokenKey(t)
	newData, _, newKid := tokenKey(t)
	oldKeys := mustTokenKeys(t, oldData)
	oldTok := mint(t, oldKeys, basicReq, now)

	var oldPub jose.JSONWebKey
	if err := json.Unmarshal(oldData, &oldPub); err != nil {
		t.Fatal(err)
	}
	oldPubJSON, _ := json.Marshal(oldPub.Public())
	// Step 2 of the rotation: the new key signs, the old one still verifies.
	set := []byte(`{"keys":[` + string(newData) + `,` + string(oldPubJSON) + `]}`)
	rotated := mustTokenKeys(t, set)
	if rotated.SigningKeyID() != newKid {
		t.Fatalf("signing kid %s, want the first key %s", rotated.SigningKeyID(), newKid)
	}
	if _, err := rotated.Verify(oldTok, "shop", "production", now); err != nil {
		t.Fatalf("a token of the old key after rotation: %v", err)
	}
	newTok := mint(t, rotated, basicReq, now)
	if got, err := rotated.Verify(newTok, "shop", "production", now); err != nil || got.KeyID != newKid {
		t.Fatalf("new token: %+v %v", got, err)
	}
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(rotated.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0].KeyID != newKid || jwks.Keys[1].KeyID != oldKid || !jwks.Keys[0].IsPublic() || !jwks.Keys[1].IsPublic() {
		t.Fatalf("JWKS %s", rotated.JWKS())
	}
	if strings.Contains(string(rotated.JWKS()), `"d"`) {
		t.Fatal("JWKS leaks a private key")
	}
	// Last step: the old key is gone; its tokens no longer verify.
	if _, err := mustTokenKeys(t, newData).Verify(oldTok, "shop", "production", now); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("old token after removing the old key: %v", err)
	}
	// A set must start with a private key.
	if _, err := auth.ParseTokenKeys([]byte(`{"keys":[` + string(oldPubJSON) + `]}`)); err == nil {
		t.Error("a public-only token key accepted")
	}
	if _, err := auth.ParseTokenKeys([]byte(`{"keys":[` + string(newData) + `,` + string(newData) + `]}`)); err == nil {
		t.Error("duplicate kid accepted")
	}
	wrongKid := strings.Replace(string(newData), newKid, oldKid, 1)
	if _, err := auth.ParseTokenKeys([]byte(wrongKid)); err == nil {
		t.Error("a kid that is not the thumbprint accepted")
	}
}

func TestES256TokenKey(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	data, _ := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: base64.RawURLEncoding.EncodeToString(tp), Algorithm: "ES256"})
	tk := mustTokenKeys(t, data)
	tok := mint(t, tk, basicReq, now)
	if _, err := tk.Verify(tok, "shop", "production", now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tk.JWKS()), `"crv":"P-256"`) {
		t.Fatalf("JWKS %s", tk.JWKS())
	}
}

func TestAuthenticateAndAuthorize(t *testing.T) {
	ks, err := auth.ParseKeys([]byte(keysFile()))
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := tokenKey(t)
	tk := mustTokenKeys(t, data)
	a := &auth.Authenticator{Keys: ks, Tokens: tk, Project: "shop", Environment: "production"}
	tok := mint(t, tk, basicReq, now)
	req := func(h map[string]string) (auth.Principal, error) {
		r := httptest.NewRequest("POST", "/", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return a.Authenticate(r, now)
	}
	if _, err := req(nil); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("no credentials: %v", err)
	}
	for _, h := range []map[string]string{{"Authorization": "Bearer " + backendSecret}, {"X-API-Key": backendSecret}, {"Authorization": "bearer  " + backendSecret + " "}} {
		p, err := req(h)
		if err != nil || p.Key == nil || p.Key.Name != "backend" || p.ID() != "key:backend" {
			t.Errorf("%v: %+v %v", h, p, err)
		}
	}
	if p, err := req(map[string]string{"Authorization": "Bearer " + tok}); err != nil || p.Token == nil || p.Token.Subject != "u-1" || !strings.HasPrefix(p.ID(), "token:") {
		t.Errorf("token: %+v %v", p, err)
	}
	for name, h := range map[string]map[string]string{
		"unknown key":          {"X-API-Key": "efk_nope"},
		"basic auth":           {"Authorization": "Basic dXNlcjpwYXNz"},
		"empty bearer":         {"Authorization": "Bearer "},
		"token in X-API-Key":   {"X-API-Key": tok},
		"two different creds":  {"Authorization": "Bearer " + backendSecret, "X-API-Key": readSecret},
		"bad token":            {"Authorization": "Bearer x.y.z"},
		"API key hash as cred": {"X-API-Key": "efk_" + hashOf(backendSecret)},
	} {
		if p, err := req(h); err == nil {
			t.Errorf("%s: authenticated as %+v", name, p)
		}
	}
	backend, _ := req(map[string]string{"X-API-Key": backendSecret})
	other, _ := req(map[string]string{"X-API-Key": otherSecret})
	reader, _ := req(map[string]string{"X-API-Key": readSecret})
	token, _ := req(map[string]string{"Authorization": "Bearer " + tok})
	checks := []struct {
		name string
		p    auth.Principal
		need auth.Need
		ok   bool
	}{
		{"backend issues tokens", backend, auth.Need{KeyScope: auth.ScopeTokensIssue}, true},
		{"reader cannot issue tokens", reader, auth.Need{KeyScope: auth.ScopeTokensIssue}, false},
		{"reader reads its projects", reader, auth.Need{KeyScope: auth.ScopeFlagsRead}, true},
		{"other project key refused", other, auth.Need{KeyScope: auth.ScopeFlagsRead}, false},
		{"token with evaluate", token, auth.Need{KeyScope: auth.ScopeFlagsRead, TokenScope: auth.TokenScopeEvaluate}, true},
		{"token without track", token, auth.Need{KeyScope: auth.ScopeEventsWrite, TokenScope: auth.TokenScopeTrack}, false},
		{"token on a key-only route", token, auth.Need{KeyScope: auth.ScopeTokensIssue}, false},
		{"token on an any-token route", token, auth.Need{AnyToken: true}, true},
		{"key on a tokens-only route", backend, auth.Need{TokensOnly: true, TokenScope: auth.TokenScopeBootstrap}, false},
		{"token on a tokens-only route", token, auth.Need{TokensOnly: true, TokenScope: auth.TokenScopeBootstrap}, true},
	}
	for _, c := range checks {
		err := auth.Authorize(c.p, c.need, "shop")
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, auth.ErrForbidden)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := auth.NewLimiter(auth.Rate{PerSecond: 2, Burst: 3})
	for i := 0; i < 3; i++ {
		d := l.Allow("a", now)
		if !d.Allowed || d.Limit != 3 || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Allow("a", now)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 500*time.Millisecond || d.Reset != 1500*time.Millisecond {
		t.Fatalf("over the burst: %+v", d)
	}
	if d := l.Allow("b", now); !d.Allowed {
		t.Fatal("another caller shares the bucket")
	}
	if d := l.Allow("a", now.Add(500*time.Millisecond)); !d.Allowed {
		t.Fatalf("after a refill interval: %+v", d)
	}
	if d := l.Allow("a", now.Add(10*time.Second)); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after a long pause: %+v", d)
	}
}

func TestParseRates(t *testing.T) {
	routes := []string{"ofrep", "tokens", "flags"}
	rs, err := auth.ParseRates("ofrep=200/s:400, tokens=60/m,flags=off", routes)
	if err != nil {
		t.Fatal(err)
	}
	if *rs["ofrep"] != (auth.Rate{PerSecond: 200, Burst: 400}) || *rs["tokens"] != (auth.Rate{PerSecond: 1, Burst: 1}) || rs["flags"] != nil {
		t.Fatalf("%v", rs)
	}
	if _, ok := rs["flags"]; !ok {
		t.Fatal("off not recorded")
	}
	for _, bad := range []string{"nope=1/s", "ofrep", "ofrep=1", "ofrep=-1/s", "ofrep=1/d", "ofrep=1/s:0", "ofrep=1/s,ofrep=2/s", "ofrep=NaN/s"} {
		if _, err := auth.ParseRates(bad, routes); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
