//go:build integration

package client_test

// Against a real S3 server: .ci/versitygw.sh starts versitygw on 127.0.0.1
// and sets EDGEFLAG_S3_* (make integration does).

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/publisher/cli"
)

// TestS3PublicStore: examples/shop published to versitygw by the real CLI
// is read by the client with plain anonymous GETs (no SDK, no signature):
// refused while the bucket is private, served once a bucket policy makes
// the prefix public, then a 304 on the pointer while nothing changes, and
// the next publish picked up.
func TestS3PublicStore(t *testing.T) {
	endpoint, bucket := os.Getenv("EDGEFLAG_S3_ENDPOINT"), os.Getenv("EDGEFLAG_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		t.Fatal("EDGEFLAG_S3_ENDPOINT/EDGEFLAG_S3_BUCKET are not set: run the integration tests through .ci/versitygw.sh (make integration)")
	}
	prefix := "offline-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := t.TempDir()
	edgeflag := func(args ...string) {
		t.Helper()
		var errOut bytes.Buffer
		if code := cli.Main(context.Background(), args, nil, io.Discard, &errOut, os.Getenv); code != 0 {
			t.Fatalf("edgeflag %v: exit %d: %s", args, code, errOut.String())
		}
	}
	store := "s3://" + bucket + "/" + prefix + "?endpoint=" + url.QueryEscape(endpoint) + "&pathStyle=true&region=us-east-1"
	edgeflag("keygen", "--out", filepath.Join(dir, "signing.key"))
	publish := func() {
		edgeflag("publish", "../../examples/shop", "--env", "production", "--key", filepath.Join(dir, "signing.key"),
			"--store", store, "--reason", "it", "--actor", "it")
	}
	publish()
	jwks, err := os.ReadFile(filepath.Join(dir, "signing.key.jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusRecorder{}
	c, err := client.New(client.Config{URL: "s3://" + bucket + "/" + prefix + "?endpoint=" + endpoint + "&pathStyle=true",
		Audience: "client", JWKS: jwks, Project: "shop", Environment: "production", CacheDir: filepath.Join(dir, "cache"),
		FailureThreshold: 100, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := refresh(t, c); r != client.ReasonAuth {
		t.Fatalf("private bucket: %q %s", r, c.Status().LastError)
	}

	// Make the prefix readable by anyone (the client bundles are meant for
	// the public: client-side flags only, key lists hashed).
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true })
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` +
		bucket + `/` + prefix + `/*"]}]}`
	if _, err := api.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}
	t.Cleanup(func() {
		api.DeleteBucketPolicy(context.Background(), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
	})

	if r := refresh(t, c); r != "" {
		t.Fatalf("public prefix: %q %s", r, c.Status().LastError)
	}
	if st := c.Status(); st.Serving != client.ServingFresh || st.Version != 1 || !c.BoolValue("new-checkout", false, staff) {
		t.Fatalf("status %+v", st)
	}
	if r := refresh(t, c); r != "" || rec.last() != http.StatusNotModified {
		t.Fatalf("unchanged: %q, last HTTP status %d", r, rec.last())
	}
	publish()
	if r := refresh(t, c); r != "" || c.Status().Version != 2 {
		t.Fatalf("after a publish: %q %+v", r, c.Status())
	}
}
