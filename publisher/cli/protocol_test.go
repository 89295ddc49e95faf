package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

func storeDir(url string) string { return strings.TrimPrefix(url, "file://") }

func digestOf(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A publish that fails after claiming its version releases the claim: the
// next publish does not wait, says which version it skips and why, audit
// shows the failure, and rollback refuses to restore a version that never
// went live.
func TestFailedPublishDoesNotBlock(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL), 0)
	// Something is in the way of version 2's bundles.
	obstacle := filepath.Join(storeDir(storeURL), "shop", "staging", "bundles", "2.client.jws")
	os.MkdirAll(obstacle, 0o755)
	writeFile(t, filepath.Join(obstacle, "x"), "x")
	o := run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL)
	mustCode(t, o, 2)
	if !strings.Contains(o.stderr, "(version 2 was released: the next publish skips it)") {
		t.Errorf("failed publish message:\n%s", o.stderr)
	}
	o = run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL)
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n3\n") || !strings.Contains(o.stderr, "note: skipping version 2, claimed by tester at 2026-05-01T12:00:00Z and never live (abandoned: publish version 2: write client bundle:") {
		t.Errorf("publish after the failure:\nstdout:\n%s\nstderr:\n%s", o.stdout, o.stderr)
	}
	o = run(t, "audit", "--store", storeURL, "--project", "shop", "--env", "staging")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "v2  2026-05-01T12:00:00Z  publish  1 -> 2 by tester [never went live]\n    abandoned: publish version 2: write client bundle:") {
		t.Errorf("audit:\n%s", o.stdout)
	}
	o = run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "staging", "--to", "2", "--key", key, "--reason", "r")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "version 2 never went live (its publish failed: publish version 2: write client bundle:") || !strings.Contains(o.stderr, "versions that did: 1, 3") {
		t.Errorf("rollback to a failed version:\n%s", o.stderr)
	}
	mustCode(t, run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "staging", "--to", "1", "--key", key, "--reason", "r"), 0)
}

// Rollback restores only versions that went live, even when their bundles
// are in the store (a publisher that died before its pointer swap).
func TestRollbackOnlyToLiveVersions(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL), 0)
	env := filepath.Join(storeDir(storeURL), "shop", "staging")
	// A crashed publisher's version 2: claim and bundles, never live.
	digests := map[string]string{}
	for _, aud := range []string{"server", "client"} {
		src := filepath.Join(env, "bundles", "1."+aud+".jws")
		data, _ := os.ReadFile(src)
		writeFile(t, filepath.Join(env, "bundles", "2."+aud+".jws"), string(data))
		digests[aud] = digestOf(t, src)
	}
	writeFile(t, filepath.Join(env, "audit", "00000000000000000002.json"), fmt.Sprintf(
		`{"format":1,"project":"shop","environment":"staging","version":2,"action":"publish","from":1,"actor":"crashed","at":"2026-05-01T09:00:00Z","digests":{"client":%q,"server":%q}}`,
		digests["client"], digests["server"]))
	o := run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "staging", "--to", "2", "--key", key, "--reason", "r")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "version 2 never went live (its publish did not finish); versions that did: 1") {
		t.Errorf("rollback to a never-live version:\n%s", o.stderr)
	}
	o = run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "staging", "--to", "7", "--key", key, "--reason", "r")
	mustCode(t, o, 1)
	if !strings.Contains(o.stderr, "version 7 does not exist in shop/staging; versions that went live: 1") {
		t.Errorf("rollback to a missing version:\n%s", o.stderr)
	}
}

// A rollback re-signs only bundles that are for the project and
// environment it names: staging's bundles copied over production's
// version 1 (audit digests fixed up, as someone with write access to the
// store could) are refused, not re-signed as production.
func TestRollbackChecksEnvironment(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL), 0)
	mustCode(t, run(t, "publish", examples, "--env", "production", "--key", key, "--store", storeURL, "--reason", "one"), 0)
	mustCode(t, run(t, "publish", examples, "--env", "production", "--key", key, "--store", storeURL, "--reason", "two"), 0)
	root := storeDir(storeURL)
	auditPath := filepath.Join(root, "shop", "production", "audit", "00000000000000000001.json")
	rec, _ := os.ReadFile(auditPath)
	for _, aud := range []string{"server", "client"} {
		prod := filepath.Join(root, "shop", "production", "bundles", "1."+aud+".jws")
		old := digestOf(t, prod)
		data, _ := os.ReadFile(filepath.Join(root, "shop", "staging", "bundles", "1."+aud+".jws"))
		writeFile(t, prod, string(data))
		rec = []byte(strings.Replace(string(rec), old, digestOf(t, prod), 1))
	}
	writeFile(t, auditPath, string(rec))
	o := run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "production", "--to", "1", "--key", key, "--reason", "r")
	mustCode(t, o, 2)
	if !strings.Contains(o.stderr, "restore version 1 server bundle: ") || !strings.Contains(o.stderr, "another environment") {
		t.Errorf("rollback of another environment's bundle:\n%s", o.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "shop", "production", "bundles", "3.server.jws")); err == nil {
		t.Error("the foreign bundle was re-signed as version 3")
	}

	// Signed claims that say production around staging's payload (a
	// mis-sealed bundle: only the key holder can make one) are refused
	// as well: the payload is checked, not only the header.
	k, err := keys.LoadPrivate(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.Signer(k)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = os.ReadFile(auditPath)
	for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
		prod := filepath.Join(root, "shop", "production", "bundles", "1."+aud.String()+".jws")
		staging, _ := os.ReadFile(filepath.Join(root, "shop", "staging", "bundles", "1."+aud.String()+".jws"))
		u, err := envelope.ReadUnverified(staging)
		if err != nil {
			t.Fatal(err)
		}
		c := envelope.Claims{Project: "shop", Environment: "production", Audience: aud, Version: 1, IssuedAt: fixedNow, ExpiresAt: fixedNow.Add(time.Hour)}
		forged, err := seal.Seal(u.Payload, c, signer)
		if err != nil {
			t.Fatal(err)
		}
		old := digestOf(t, prod)
		writeFile(t, prod, string(forged))
		rec = []byte(strings.Replace(string(rec), old, digestOf(t, prod), 1))
	}
	writeFile(t, auditPath, string(rec))
	o = run(t, "rollback", "--store", storeURL, "--project", "shop", "--env", "production", "--to", "1", "--key", key, "--reason", "r")
	mustCode(t, o, 2)
	if !strings.Contains(o.stderr, "restore version 1 server bundle: payload is for shop/staging (server), not shop/production (server)") {
		t.Errorf("rollback of a payload for another environment:\n%s", o.stderr)
	}
}

// A claim dated far in the future (a machine with a wrong clock, or a
// forged record) does not block the environment.
func TestFutureClaimDoesNotBlock(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL), 0)
	writeFile(t, filepath.Join(storeDir(storeURL), "shop", "staging", "audit", "00000000000000000002.json"),
		`{"format":1,"project":"shop","environment":"staging","version":2,"action":"publish","from":1,"actor":"clock-ahead","at":"2027-05-01T12:00:00Z","digests":{"server":"00"}}`)
	o := run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL)
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n3\n") || !strings.Contains(o.stderr, "note: skipping version 2, claimed by clock-ahead at 2027-05-01T12:00:00Z and never live (dated in the future: claimed at 2027-05-01T12:00:00Z, 8760h0m0s ahead of this machine's clock)") {
		t.Errorf("publish over a future claim:\nstdout:\n%s\nstderr:\n%s", o.stdout, o.stderr)
	}
}

// No actor or reason can forge an audit line or send a terminal escape:
// audit's text output escapes control and format characters.
func TestAuditEscapesControlCharacters(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	reason := "ok\nv9  2026-05-01T12:00:00Z  publish  0 -> 9 by admin"
	actor := "eve\x1b]0;owned\x07\u202e"
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", storeURL, "--reason", reason, "--actor", actor), 0)
	o := run(t, "audit", "--store", storeURL, "--project", "shop", "--env", "staging")
	mustCode(t, o, 0)
	for _, line := range strings.Split(o.stdout, "\n") {
		if strings.HasPrefix(line, "v9") {
			t.Errorf("forged audit line %q", line)
		}
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(o.stdout, bad) {
			t.Errorf("audit output holds %q:\n%s", bad, o.stdout)
		}
	}
	if !strings.Contains(o.stdout, `by eve\x1b]0;owned\a\u202e`) || !strings.Contains(o.stdout, `reason: ok\nv9  2026-05-01T12:00:00Z  publish  0 -> 9 by admin`) {
		t.Errorf("escaped actor or reason missing:\n%s", o.stdout)
	}
}

// A webhook whose secret is not available on this machine is reported,
// but does not count towards the auto-disable every publisher shares; a
// webhook URL's query string never reaches the output or the state file.
func TestWebhookLocalFailuresAndRedaction(t *testing.T) {
	dir := t.TempDir()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused from now on
	writeFile(t, filepath.Join(dir, "flags.yaml"), `project: hooks
environments: [dev]
webhooks:
  - {name: nosecret, url: 'https://hooks.example.com/x', secret: env:NOT_ON_THIS_MACHINE}
  - {name: tokened, url: '`+deadURL+`/hook?token=s3cr3t-query', secret: env:HOOK_SECRET}
flags:
  f: {type: boolean}
`)
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	for i := 0; i < 12; i++ {
		e, so, se := newEnv("")
		e.Getenv = func(k string) string { return map[string]string{"HOOK_SECRET": "x", "USER": "tester"}[k] }
		e.WebhookSleep = func(context.Context, time.Duration) error { return nil }
		code := e.Run(context.Background(), []string{"publish", dir, "--env", "dev", "--key", key, "--store", storeURL})
		o := out{code, so.String(), se.String()}
		mustCode(t, o, 0)
		if !strings.Contains(o.stderr, "webhook nosecret: not notified: deliver to nosecret: resolve secret: environment variable NOT_ON_THIS_MACHINE is not set (a problem on this machine: not counted towards auto-disable)") {
			t.Fatalf("publish %d: local failure message:\n%s", i, o.stderr)
		}
		if strings.Contains(o.stderr+o.stdout, "s3cr3t-query") {
			t.Fatalf("publish %d: the webhook URL's query is not redacted:\n%s", i, o.stderr)
		}
		// The reachable-but-failing hook counts: disabled after ten.
		want := "token=REDACTED"
		if i >= 10 {
			want = "webhook tokened: disabled, not notified"
		}
		if !strings.Contains(o.stderr, want) {
			t.Fatalf("publish %d: lacks %q:\n%s", i, want, o.stderr)
		}
	}
	state, err := os.ReadFile(filepath.Join(storeDir(storeURL), "hooks", "webhooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), "s3cr3t-query") || strings.Contains(string(state), "nosecret") {
		t.Errorf("state file:\n%s", state)
	}
	o := run(t, "validate", dir, "--store", storeURL)
	if !strings.Contains(o.stdout, "webhook tokened: DISABLED") || strings.Contains(o.stdout, "webhook nosecret: DISABLED") {
		t.Errorf("webhook states:\n%s", o.stdout)
	}
}

// Store URLs and webhook URLs in errors keep their parameter names, never
// their values.
func TestURLSecretsRedactedInErrors(t *testing.T) {
	o := run(t, "audit", "--store", "s3://bucket/p?region=eu-west-1&token=s3cr3t-store", "--project", "shop", "--env", "dev")
	mustCode(t, o, 1) // a URL that cannot be used as written is a usage error
	if strings.Contains(o.stderr, "s3cr3t-store") || !strings.Contains(o.stderr, `token=REDACTED`) {
		t.Errorf("store URL error:\n%s", o.stderr)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f.yaml"), "project: p\nenvironments: [dev]\nwebhooks:\n  - {name: w, url: 'ftp://h.example/x?token=s3cr3t-hook', secret: env:X}\n")
	o = run(t, "validate", dir)
	mustCode(t, o, 1)
	if strings.Contains(o.stderr, "s3cr3t-hook") || !strings.Contains(o.stderr, `expected an absolute http(s) URL, got "ftp://h.example/x?token=REDACTED"`) {
		t.Errorf("webhook URL diagnostic:\n%s", o.stderr)
	}
}
