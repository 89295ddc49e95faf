//go:build integration

package app_test

// Against a real S3 server: .ci/versitygw.sh starts versitygw on 127.0.0.1
// and sets EDGEFLAG_S3_URL (make integration does).

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
	"github.com/edgeflag/edgeflag/publisher/cli"
)

func s3URL(t *testing.T) string { return devenv.S3Store(t) }

// TestServeFromS3: publish examples/shop to versitygw with the real CLI,
// serve it with edgefn from s3://, publish again and see the refresh pick
// the new version up (conditional reads against a real S3 server).
func TestServeFromS3(t *testing.T) {
	store := s3URL(t)
	dir, args := devSetup(t)
	publish := func() {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), []string{"publish", "../../examples/shop", "--env", "production",
			"--key", filepath.Join(dir, "signing.key"), "--store", store, "--reason", "it", "--actor", "it"}, nil, &out, &errOut, os.Getenv)
		if code != 0 {
			t.Fatalf("publish to S3: exit %d: %s", code, errOut.String())
		}
	}
	publish()
	for i, a := range args {
		if a == "--store" {
			args[i+1] = store
		}
	}
	r := serve(t, dir, args)
	health := func() string { return get(t, r.url+"/healthz") }
	if h := health(); !strings.Contains(h, `"version":1`) || !strings.Contains(h, `"status":"ok"`) {
		t.Fatalf("healthz %s", h)
	}
	checkNewCheckout(t, r.url)
	publish()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(health(), `"version":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("version 2 not picked up: %s\n%s", health(), r.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h := health(); strings.Contains(h, `"lastKnownGood":true`) {
		t.Fatalf("refresh failures against S3: %s\n%s", h, r.stderr.String())
	}
}
