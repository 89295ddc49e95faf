package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/publisher/internal/kmsfake"
	"github.com/edgeflag/edgeflag/publisher/keys"
)

// TestBuildWithKMS signs through --kms-key against the in-repo fake of the
// KMS JSON protocol (the real SDK client, default config chain) and checks
// the ES256 bundle verifies against the KMS key's public JWK.
func TestBuildWithKMS(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	arn := fake.AddKey("cli-test", priv)
	t.Setenv("AWS_ENDPOINT_URL_KMS", fake.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	dir := t.TempDir()
	o := run(t, "build", examples, "--env", "production", "--kms-key", arn, "--out", dir, "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 0)
	if fake.Signs() != 2 {
		t.Errorf("KMS signed %d times, want 2 (server and client)", fake.Signs())
	}
	pub, err := keys.PublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.stdout, "kid "+pub.ID) {
		t.Errorf("build output does not name the KMS key's thumbprint kid %s:\n%s", pub.ID, o.stdout)
	}
	jwks := filepath.Join(dir, "kms.jwks.json")
	if err := keys.WriteJWKS(jwks, []envelope.Key{pub}, false); err != nil {
		t.Fatal(err)
	}
	o = run(t, "inspect", filepath.Join(dir, "shop.production.1.server.jws"), "--jwks", jwks, "--now", "2026-05-01T00:00:00Z")
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "verified (ES256") {
		t.Errorf("inspect of the KMS-signed bundle:\n%s", o.stdout)
	}
	fake.Disable("cli-test")
	o = run(t, "build", examples, "--env", "production", "--kms-key", arn, "--out", dir)
	mustCode(t, o, 2)
}
