//go:build integration

package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// s3URL returns the S3 store URL that .ci/versitygw.sh exports, with a
// prefix of its own so runs never see each other's objects. It fails, never
// skips, when the variable is missing: the integration tag promises a real
// S3 server.
func s3URL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("EDGEFLAG_S3_URL")
	if raw == "" {
		t.Fatal("EDGEFLAG_S3_URL is not set: run through .ci/versitygw.sh (make integration)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse EDGEFLAG_S3_URL: %v", err)
	}
	u.Path += "/cli-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return u.String()
}

// TestIntegrationS3PublishRollbackAudit runs the README's publishing
// commands against a real S3 server (versitygw on 127.0.0.1): publish twice,
// diff against the store, roll back, and read the audit log.
func TestIntegrationS3PublishRollbackAudit(t *testing.T) {
	key := keygen(t)
	jwks := key + ".jwks.json"
	cfg := copyExamples(t)
	store := s3URL(t)

	o := run(t, "publish", cfg, "--env", "production", "--key", key, "--store", store, "--reason", "launch", "--actor", "ana")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n1\n") {
		t.Fatalf("first publish did not print version 1:\n%s", o.stdout)
	}
	edit(t, filepath.Join(cfg, "checkout.yaml"), "split: {on: 25, off: 75}", "split: {on: 50, off: 50}")
	o = run(t, "diff", cfg, "--env", "production", "--store", store, "--jwks", jwks)
	mustCode(t, o, 0)
	wantRule := "rule na-pro: serve: split on:25 off:75 by accountId -> split on:50 off:50 by accountId"
	if !strings.Contains(o.stdout, wantRule) || !strings.Contains(o.stdout, "verified against") {
		t.Errorf("diff against S3:\n%s", o.stdout)
	}
	o = run(t, "publish", cfg, "--env", "production", "--key", key, "--store", store, "--reason", "ramp")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n2\n") {
		t.Fatalf("second publish did not print version 2:\n%s", o.stdout)
	}
	o = run(t, "rollback", "--store", store, "--project", "shop", "--env", "production", "--to", "1", "--key", key, "--reason", "too fast", "--actor", "bo")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n3\n") {
		t.Fatalf("rollback did not create version 3:\n%s", o.stdout)
	}
	o = run(t, "diff", "--store", store, "--project", "shop", "--env", "production", "--from", "1", "--to", "3", "--jwks", jwks)
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "no flag changes") {
		t.Errorf("v1 -> v3 on S3:\n%s", o.stdout)
	}
	o = run(t, "audit", "--store", store, "--project", "shop", "--env", "production")
	mustCode(t, o, 0)
	for _, want := range []string{"current version 3", "by ana", "reason: launch", "reason: ramp", "rollback  2 -> 3 (rollback to version 1) by bo"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("audit lacks %q:\n%s", want, o.stdout)
		}
	}
}
