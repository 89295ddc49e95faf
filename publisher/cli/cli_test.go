package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// examples is the example project every test reasons about.
var examples = filepath.Join("..", "..", "examples", "shop")

// fixedNow is the clock of every test run.
var fixedNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type out struct {
	code           int
	stdout, stderr string
}

func newEnv(stdin string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var so, se bytes.Buffer
	return &Env{
		Stdin: strings.NewReader(stdin), Stdout: &so, Stderr: &se,
		Getenv: func(k string) string {
			if k == "USER" {
				return "tester"
			}
			return ""
		},
		Now: func() time.Time { return fixedNow },
	}, &so, &se
}

func run(t *testing.T, args ...string) out {
	t.Helper()
	return runIn(t, "", args...)
}

func runIn(t *testing.T, stdin string, args ...string) out {
	t.Helper()
	e, so, se := newEnv(stdin)
	code := e.Run(context.Background(), args)
	return out{code, so.String(), se.String()}
}

func mustCode(t *testing.T, o out, want int) {
	t.Helper()
	if o.code != want {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", o.code, want, o.stdout, o.stderr)
	}
}

// keygen makes a key in a temp dir and returns its path.
func keygen(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "signing.key")
	mustCode(t, run(t, "keygen", "--out", key), 0)
	return key
}

// resultLines decodes eval's NDJSON output.
func resultLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var rs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line %q is not JSON: %v", line, err)
		}
		rs = append(rs, m)
	}
	return rs
}

func TestHelpAndUsage(t *testing.T) {
	o := run(t, "help")
	mustCode(t, o, 0)
	for _, c := range commands {
		if !strings.Contains(o.stdout, c.name) {
			t.Errorf("help does not list %s", c.name)
		}
	}
	o = run(t, "eval", "-h")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "--contexts") && !strings.Contains(o.stdout, "-contexts") {
		t.Errorf("eval -h does not describe --contexts:\n%s", o.stdout)
	}
	mustCode(t, run(t, "frobnicate"), 1)
	o = run(t, "validate", examples, "--bogus")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "edgeflag: validate:") || !strings.Contains(o.stderr, "bogus") {
		t.Errorf("unknown flag error not reported as edgeflag: validate: ...: %s", o.stderr)
	}
	mustCode(t, run(t), 1)
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	o := run(t, "keygen", "--out", key)
	mustCode(t, o, 0)
	kid := strings.TrimSpace(o.stdout)
	if len(kid) != 43 { // base64url of a SHA-256 thumbprint
		t.Errorf("kid %q is not a 43-character thumbprint", kid)
	}
	for path, mode := range map[string]os.FileMode{key: 0o600, key + ".jwks.json": 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	jwks, _ := os.ReadFile(key + ".jwks.json")
	if !strings.Contains(string(jwks), kid) {
		t.Errorf("JWKS does not hold kid %s", kid)
	}
	if o := run(t, "keygen", "--out", key); o.code == 0 {
		t.Error("keygen overwrote an existing key without --force")
	}
	o = run(t, "keygen", "--out", key, "--force")
	mustCode(t, o, 0)
	if strings.TrimSpace(o.stdout) == kid {
		t.Error("--force kept the old key")
	}
	mustCode(t, run(t, "keygen"), 1)
}

func TestValidate(t *testing.T) {
	o := run(t, "validate", examples)
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "ok (project shop") {
		t.Errorf("stdout: %s", o.stdout)
	}

	dir := t.TempDir()
	broken := `project: shop
environments: [production]
flags:
  a:
    type: boolean
    defaultVariant: maybe
    environments:
      production:
        rules:
          - when: 'plan =='
            serve: on
  b:
    type: colour
`
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	o = run(t, "validate", dir)
	mustCode(t, o, 1)
	diag := regexp.MustCompile(`(?m)broken\.yaml:\d+:\d+: flags\.(a|b)[^:]*: `)
	if n := len(diag.FindAllString(o.stderr, -1)); n < 3 {
		t.Errorf("want at least 3 positioned diagnostics (variant, expression, type), got %d:\n%s", n, o.stderr)
	}
	for _, want := range []string{"maybe", "colour", "broken.yaml:10:"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("diagnostics do not mention %q:\n%s", want, o.stderr)
		}
	}
	mustCode(t, run(t, "validate", filepath.Join(dir, "missing")), 1)
	mustCode(t, run(t, "validate"), 1)
}

func TestValidateStrictExpiry(t *testing.T) {
	// search-ranking expires 2031-01-01: a warning in 2032, an error with --strict.
	o := run(t, "validate", examples, "--now", "2032-01-01T00:00:00Z")
	mustCode(t, o, 0)
	if !strings.Contains(o.stderr, "warning") || !strings.Contains(o.stderr, "search-ranking") {
		t.Errorf("no expiry warning for search-ranking:\n%s", o.stderr)
	}
	mustCode(t, run(t, "validate", "--strict", examples, "--now", "2032-01-01T00:00:00Z"), 1)
}

// TestEvalExamples asserts results reasoned out from examples/shop's YAML
// (production environment).
func TestEvalExamples(t *testing.T) {
	now := "--now=2026-05-01T00:00:00Z"
	cases := []struct {
		flag, ctx           string
		value               any
		variant, reason, id string
	}{
		// email ends with @example.com: segment internal-staff, rule staff.
		{"new-checkout", `{"targetingKey":"u-1","email":"ana@example.com"}`, true, "on", "TARGETING_MATCH", "staff"},
		// not staff, accountId in vip-accounts' keys: rule vip.
		{"new-checkout", `{"targetingKey":"u-2","email":"x@other.org","accountId":"acct-1001"}`, true, "on", "TARGETING_MATCH", "vip"},
		// age < 21: young-or-new serves none (0).
		{"payment-retry-limit", `{"age":18}`, 0.0, "none", "TARGETING_MATCH", "young-or-new"},
		// 30 < age <= 64 and plan != free: trusted serves many (5).
		{"payment-retry-limit", `{"age":40,"plan":"pro"}`, 5.0, "many", "TARGETING_MATCH", "trusted"},
		// age 25 matches neither rule; no default serve: defaultVariant some (2).
		{"payment-retry-limit", `{"age":25,"plan":"pro"}`, 2.0, "some", "DEFAULT", ""},
		// enabled: false in production: offVariant (= defaultVariant off).
		{"express-shipping", `{"country":"DE"}`, false, "off", "DISABLED", ""},
		// draft: served as disabled.
		{"referral-program", `{}`, false, "off", "DISABLED", ""},
		// enterprise via user.plan, country not CN.
		{"search-ranking", `{"user":{"plan":"enterprise"},"plan":"enterprise","country":"US"}`, "neural-v2", "neural", "TARGETING_MATCH", "enterprise"},
		// nested device.os + semver >= 4.2.0: segment modern-mobile.
		{"homepage-banner", `{"device":{"os":"ios"},"appVersion":"4.3.0"}`, map[string]any{"colors": []any{"green", "white"}, "discountPercent": 20.0, "show": true, "title": "Spring sale"}, "spring", "TARGETING_MATCH", "mobile"},
		// older app version: no rule, default none.
		{"homepage-banner", `{"device":{"os":"ios"},"appVersion":"4.1.9"}`, map[string]any{"show": false}, "none", "DEFAULT", ""},
	}
	for _, c := range cases {
		o := run(t, "eval", examples, "--env", "production", "--flag", c.flag, "--context", c.ctx, now)
		mustCode(t, o, 0)
		rs := resultLines(t, o.stdout)
		if len(rs) != 1 {
			t.Fatalf("%s %s: %d result lines", c.flag, c.ctx, len(rs))
		}
		r := rs[0]
		got, _ := json.Marshal(r["value"])
		want, _ := json.Marshal(c.value)
		if string(got) != string(want) || r["variant"] != c.variant || r["reason"] != c.reason || r["key"] != c.flag || r["version"] != 0.0 {
			t.Errorf("%s %s: got %v, want value %s variant %s reason %s", c.flag, c.ctx, r, want, c.variant, c.reason)
		}
		if id, _ := r["ruleId"].(string); id != c.id {
			t.Errorf("%s %s: ruleId %q, want %q", c.flag, c.ctx, id, c.id)
		}
		if _, has := r["errorCode"]; has {
			t.Errorf("%s %s: errorCode present without an error: %v", c.flag, c.ctx, r)
		}
	}

	// The spring window rule depends on --now only.
	o := run(t, "eval", examples, "--env", "production", "--flag", "homepage-banner", "--now", "2030-03-25T00:00:00Z")
	mustCode(t, o, 0)
	if r := resultLines(t, o.stdout)[0]; r["variant"] != "spring" || r["ruleId"] != "spring-window" {
		t.Errorf("inside the spring window: %v", r)
	}
	// No rule matches a context without plan: the default 10/90 split.
	o = run(t, "eval", examples, "--env", "production", "--flag", "new-checkout", "--context", `{"targetingKey":"u-3","email":"z@other.org"}`, now)
	if r := resultLines(t, o.stdout)[0]; r["reason"] != "SPLIT" || (r["variant"] != "on" && r["variant"] != "off") {
		t.Errorf("default split: %v", r)
	}
	// Unknown flag.
	o = run(t, "eval", examples, "--env", "production", "--flag", "nope", now)
	mustCode(t, o, 0)
	if r := resultLines(t, o.stdout)[0]; r["errorCode"] != "FLAG_NOT_FOUND" || r["reason"] != "ERROR" {
		t.Errorf("unknown flag: %v", r)
	}
	// Client audience: only clientSide flags.
	o = run(t, "eval", examples, "--env", "production", "--audience", "client", "--flag", "payment-retry-limit", now)
	if r := resultLines(t, o.stdout)[0]; r["errorCode"] != "FLAG_NOT_FOUND" {
		t.Errorf("server-only flag in client bundle: %v", r)
	}
}

func TestEvalAllAndContexts(t *testing.T) {
	now := "--now=2026-05-01T00:00:00Z"
	o := run(t, "eval", examples, "--env", "production", "--all", "--context", `{"targetingKey":"u-1","email":"ana@example.com","age":40,"plan":"pro"}`, now)
	mustCode(t, o, 0)
	rs := resultLines(t, o.stdout)
	// Production server bundle: every flag except the archived legacy-coupons.
	wantKeys := []string{"checkout-button-color", "express-shipping", "homepage-banner", "new-checkout", "payment-retry-limit", "referral-program", "search-ranking"}
	if len(rs) != len(wantKeys) {
		t.Fatalf("--all printed %d results, want %d:\n%s", len(rs), len(wantKeys), o.stdout)
	}
	for i, k := range wantKeys {
		if rs[i]["key"] != k {
			t.Errorf("result %d key %v, want %s", i, rs[i]["key"], k)
		}
	}
	if rs[3]["variant"] != "on" || rs[4]["variant"] != "many" {
		t.Errorf("--all: new-checkout %v, payment-retry-limit %v", rs[3], rs[4])
	}

	file := filepath.Join(t.TempDir(), "ctx.ndjson")
	os.WriteFile(file, []byte("{\"age\":18}\n\n{\"age\":40,\"plan\":\"pro\"}\n{\"age\":25}\n"), 0o644)
	o = run(t, "eval", examples, "--env", "production", "--flag", "payment-retry-limit", "--contexts", file, now)
	mustCode(t, o, 0)
	rs = resultLines(t, o.stdout)
	var got []string
	for _, r := range rs {
		got = append(got, r["variant"].(string))
	}
	if strings.Join(got, ",") != "none,many,some" {
		t.Errorf("--contexts variants %v, want none,many,some", got)
	}
	// stdin, with a bad third line.
	o = runIn(t, "{\"age\":18}\n{\"age\":40}\n[1,2]\n", "eval", examples, "--env", "production", "--flag", "payment-retry-limit", "--contexts", "-", now)
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "-:3:") || !strings.Contains(o.stderr, "must be a JSON object") {
		t.Errorf("bad NDJSON line not reported with its number: %s", o.stderr)
	}
	if n := len(resultLines(t, o.stdout)); n != 2 {
		t.Errorf("results before the bad line: %d, want 2", n)
	}
	for _, bad := range []string{`"str"`, `null`, `{"a":`, `{} {}`} {
		o = run(t, "eval", examples, "--env", "production", "--flag", "new-checkout", "--context", bad, now)
		mustCode(t, o, 1)
		if !strings.Contains(o.stderr, "--context") {
			t.Errorf("context %s: unclear error %q", bad, o.stderr)
		}
	}
	mustCode(t, run(t, "eval", examples, "--env", "nowhere", "--all"), 1)
	mustCode(t, run(t, "eval", examples, "--all"), 1)
	mustCode(t, run(t, "eval", examples, "--env", "production"), 1)
	mustCode(t, run(t, "eval", examples, "--env", "production", "--all", "--now", "yesterday"), 1)
}

func TestBuildDeterministicAndEvalBundle(t *testing.T) {
	key := keygen(t)
	a, b := t.TempDir(), t.TempDir()
	args := func(dir string) []string {
		return []string{"build", examples, "--env", "production", "--key", key, "--out", dir, "--version", "7", "--now", "2026-05-01T00:00:00Z"}
	}
	o := run(t, args(a)...)
	mustCode(t, o, 0)
	mustCode(t, run(t, args(b)...), 0)
	for _, aud := range []string{"server", "client"} {
		name := "shop.production.7." + aud + ".jws"
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds with the same inputs", name)
		}
		sum := sha256.Sum256(x)
		if !strings.Contains(o.stdout, hex.EncodeToString(sum[:])) || !strings.Contains(o.stdout, filepath.Join(a, name)) {
			t.Errorf("build output does not name %s and its sha256:\n%s", name, o.stdout)
		}
	}

	// Evaluate the signed bundle: same answers as DIR mode, version 7.
	bundle := filepath.Join(a, "shop.production.7.server.jws")
	ctx := `{"targetingKey":"u-1","email":"ana@example.com","age":40,"plan":"pro"}`
	o = run(t, "eval", bundle, "--jwks", key+".jwks.json", "--all", "--context", ctx, "--now", "2026-05-02T00:00:00Z")
	mustCode(t, o, 0)
	fromBundle := resultLines(t, o.stdout)
	o = run(t, "eval", examples, "--env", "production", "--all", "--context", ctx, "--now", "2026-05-02T00:00:00Z")
	fromDir := resultLines(t, o.stdout)
	if len(fromBundle) != len(fromDir) {
		t.Fatalf("bundle %d results, dir %d", len(fromBundle), len(fromDir))
	}
	for i := range fromDir {
		if fromBundle[i]["version"] != 7.0 {
			t.Errorf("bundle result version %v, want 7", fromBundle[i]["version"])
		}
		fromBundle[i]["version"], fromDir[i]["version"] = 0, 0
		x, _ := json.Marshal(fromBundle[i])
		y, _ := json.Marshal(fromDir[i])
		if string(x) != string(y) {
			t.Errorf("bundle %s != dir %s", x, y)
		}
	}
	// The bundle expires after the production bundleTTL (168h).
	o = run(t, "eval", bundle, "--jwks", key+".jwks.json", "--all", "--now", "2026-05-09T00:00:01Z")
	mustCode(t, o, 2)
	if !strings.Contains(o.stderr, "expired") {
		t.Errorf("expired bundle: %s", o.stderr)
	}
	// Another key's JWKS does not verify it.
	other := keygen(t)
	mustCode(t, run(t, "eval", bundle, "--jwks", other+".jwks.json", "--all", "--now", "2026-05-02T00:00:00Z"), 2)
	mustCode(t, run(t, "eval", bundle, "--all"), 1)
	// --ttl overrides the environment's bundleTTL.
	o = run(t, "build", examples, "--env", "production", "--key", key, "--out", a, "--ttl", "1h", "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "expires 2026-05-01T01:00:00Z") {
		t.Errorf("--ttl 1h not applied:\n%s", o.stdout)
	}
	mustCode(t, run(t, "build", examples, "--env", "production", "--out", a), 1)
	mustCode(t, run(t, "build", examples, "--env", "production", "--key", key, "--kms-key", "arn:x", "--out", a), 1)
}

func TestInspect(t *testing.T) {
	key := keygen(t)
	dir := t.TempDir()
	mustCode(t, run(t, "build", examples, "--env", "production", "--key", key, "--out", dir, "--now", "2026-05-01T00:00:00Z"), 0)
	bundle := filepath.Join(dir, "shop.production.1.client.jws")
	o := run(t, "inspect", bundle, "--jwks", key+".jwks.json", "--json", "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 0)
	var got InspectJSON
	if err := json.Unmarshal([]byte(o.stdout), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range got.Flags {
		keys = append(keys, f.Key)
	}
	// clientSide flags of examples/shop that production bundles carry.
	if strings.Join(keys, ",") != "checkout-button-color,express-shipping,homepage-banner,new-checkout" ||
		got.Project != "shop" || got.Env != "production" || got.Audience != "client" || got.Version != 1 || !got.Verified {
		t.Errorf("inspect JSON: %+v", got)
	}
	o = run(t, "inspect", bundle, "--jwks", key+".jwks.json", "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, `rule na-pro: when plan == "pro" && country in ["US", "CA"] serve split on:25 off:75 by accountId`) {
		t.Errorf("inspect does not render the na-pro rule:\n%s", o.stdout)
	}

	data, _ := os.ReadFile(bundle)
	tampered := bytes.Clone(data)
	i := bytes.LastIndexByte(tampered, '.') + 5
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	bad := filepath.Join(dir, "tampered.jws")
	os.WriteFile(bad, tampered, 0o644)
	o = run(t, "inspect", bad, "--jwks", key+".jwks.json", "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 2)
	if !strings.Contains(o.stderr, "rejected: invalid signature") {
		t.Errorf("tampered bundle reason: %s", o.stderr)
	}
	mustCode(t, run(t, "inspect", filepath.Join(dir, "none.jws"), "--jwks", key+".jwks.json"), 1)
}

func TestApikey(t *testing.T) {
	o := run(t, "apikey", "--name", "backend", "--scopes", "flags:read,tokens:issue", "--projects", "shop")
	mustCode(t, o, 0)
	secret := regexp.MustCompile(`(?m)^secret: (efk_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(o.stdout)
	hash := regexp.MustCompile(`(?m)^  sha256: ([0-9a-f]{64})$`).FindStringSubmatch(o.stdout)
	if secret == nil || hash == nil {
		t.Fatalf("output lacks the secret or the sha256 entry:\n%s", o.stdout)
	}
	sum := sha256.Sum256([]byte(secret[1]))
	if hex.EncodeToString(sum[:]) != hash[1] {
		t.Errorf("sha256 %s is not the hash of the printed secret", hash[1])
	}
	for _, want := range []string{"- name: backend", "scopes: [flags:read, tokens:issue]", "projects: [shop]"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("entry lacks %q:\n%s", want, o.stdout)
		}
	}
	o2 := run(t, "apikey", "--name", "backend", "--scopes", "flags:read")
	if strings.Contains(o2.stdout, secret[1]) || strings.Contains(o2.stdout, "projects:") {
		t.Error("a second key repeated the secret or invented projects")
	}
	o = run(t, "apikey", "--name", "x", "--scopes", "flags:write")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, `unknown scope "flags:write"`) {
		t.Errorf("bad scope message: %s", o.stderr)
	}
	mustCode(t, run(t, "apikey", "--scopes", "flags:read"), 1)
}

// copyExamples copies examples/shop into a temp dir the test may edit.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(examples, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644)
	}
	return dir
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644)
}

func TestPublishDiffRollbackAudit(t *testing.T) {
	key := keygen(t)
	jwks := key + ".jwks.json"
	cfg := copyExamples(t)
	storeURL := "file://" + t.TempDir()

	o := run(t, "publish", cfg, "--env", "production", "--key", key, "--store", storeURL)
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "protected") {
		t.Errorf("protected refusal: %s", o.stderr)
	}
	o = run(t, "publish", cfg, "--env", "production", "--key", key, "--store", storeURL, "--reason", "launch", "--actor", "ana")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n1\n") {
		t.Errorf("first publish did not print version 1:\n%s", o.stdout)
	}
	// Change the na-pro split and the staff condition, publish version 2.
	edit(t, filepath.Join(cfg, "checkout.yaml"), "split: {on: 25, off: 75}", "split: {on: 50, off: 50}")
	o = run(t, "diff", cfg, "--env", "production", "--store", storeURL, "--jwks", jwks)
	mustCode(t, o, 0)
	wantRule := "rule na-pro: serve: split on:25 off:75 by accountId -> split on:50 off:50 by accountId"
	if !strings.Contains(o.stdout, wantRule) || !strings.Contains(o.stdout, "~ flag new-checkout") || !strings.Contains(o.stdout, "verified against") {
		t.Errorf("config-vs-published diff:\n%s", o.stdout)
	}
	o = run(t, "publish", cfg, "--env", "production", "--key", key, "--store", storeURL, "--reason", "ramp na-pro")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n2\n") || !strings.Contains(o.stdout, wantRule) {
		t.Errorf("second publish:\n%s", o.stdout)
	}
	o = run(t, "diff", "--store", storeURL, "--project", "shop", "--env", "production", "--from", "1", "--to", "2")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, wantRule) || !strings.Contains(o.stdout, "NOT verified") {
		t.Errorf("version diff:\n%s", o.stdout)
	}

	o = run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "production", "--to", "1", "--key", key, "--reason", "too fast", "--actor", "bo")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n3\n") {
		t.Errorf("rollback did not create version 3:\n%s", o.stdout)
	}
	// Version 3 carries version 1's flags: no difference to 1, the reverse change to 2.
	o = run(t, "diff", "--store", storeURL, "--project", "shop", "--env", "production", "--from", "1", "--to", "3", "--jwks", jwks)
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "no flag changes") {
		t.Errorf("v1 -> v3:\n%s", o.stdout)
	}
	o = run(t, "diff", "--store", storeURL, "--project", "shop", "--env", "production", "--from", "2", "--to", "3")
	if !strings.Contains(o.stdout, "rule na-pro: serve: split on:50 off:50 by accountId -> split on:25 off:75 by accountId") {
		t.Errorf("v2 -> v3:\n%s", o.stdout)
	}
	// The re-sealed bundle is version 3 with a fresh validity period.
	bundle := filepath.Join(strings.TrimPrefix(storeURL, "file://"), "shop", "production", "bundles", "3.server.jws")
	o = run(t, "inspect", bundle, "--jwks", jwks, "--json")
	mustCode(t, o, 0)
	var ins InspectJSON
	json.Unmarshal([]byte(o.stdout), &ins)
	if ins.Version != 3 || !ins.IssuedAt.Equal(fixedNow) || ins.ExpiresAt.Sub(ins.IssuedAt) != 168*time.Hour {
		t.Errorf("rolled-back bundle claims: version %d iat %v exp %v", ins.Version, ins.IssuedAt, ins.ExpiresAt)
	}

	o = run(t, "audit", "--store", storeURL, "--project", "shop", "--env", "production")
	mustCode(t, o, 0)
	for _, want := range []string{"current version 3", "v1 ", "by ana", "reason: launch", "v2 ", "reason: ramp na-pro", "v3 ", "rollback  2 -> 3 (rollback to version 1) by bo", wantRule} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("audit lacks %q:\n%s", want, o.stdout)
		}
	}
	o = run(t, "audit", "--store", storeURL, "--project", "shop", "--env", "production", "--json")
	var aj AuditJSON
	if err := json.Unmarshal([]byte(o.stdout), &aj); err != nil {
		t.Fatal(err)
	}
	if len(aj.Entries) != 3 || aj.Entries[2].Action != "rollback" || aj.Entries[2].RollbackOf != 1 || aj.Entries[1].Actor != "tester" {
		t.Errorf("audit JSON: %+v", aj.Entries)
	}
	mustCode(t, run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "production", "--to", "9", "--key", key, "--reason", "x"), 1)
	mustCode(t, run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "production", "--to", "1", "--key", key), 1)
}

func TestPublishRace(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	var arrived sync.WaitGroup
	arrived.Add(2)
	var wg sync.WaitGroup
	outs := make([]out, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, so, se := newEnv("")
			// Both publishers read the head before either publishes.
			e.afterHead = func() { arrived.Done(); arrived.Wait() }
			code := e.Run(context.Background(), []string{"publish", examples, "--env", "staging", "--key", key, "--store", storeURL})
			outs[i] = out{code, so.String(), se.String()}
		}()
	}
	wg.Wait()
	codes := outs[0].code + outs[1].code*10
	if codes != 20 && codes != 2 {
		t.Fatalf("exit codes %d and %d, want one 0 and one 2\n%+v", outs[0].code, outs[1].code, outs)
	}
	loser := outs[0]
	if loser.code == 0 {
		loser = outs[1]
	}
	// The store says "published" or, when the winner's claim is not live
	// yet, "is publishing".
	if !regexp.MustCompile(`edgeflag: publish: retry: someone (published|is publishing) version 1`).MatchString(loser.stderr) {
		t.Errorf("loser's message: %s", loser.stderr)
	}
	// The loser can simply publish again: version 2.
	o := run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL)
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n2\n") {
		t.Errorf("retry did not publish version 2:\n%s", o.stdout)
	}
}
