package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// TestThumbprintRFC8037 checks the kid against the Ed25519 thumbprint
// example of RFC 8037, Appendix A.3.
func TestThumbprintRFC8037(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestKeygenFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.key")
	pub, err := Keygen(path, false)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %04o", fi.Mode().Perm())
	}
	priv, err := LoadPrivate(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := LoadJWKS(path + JWKSSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || set[0].ID != pub.ID || priv.KeyID != pub.ID {
		t.Fatalf("kid mismatch: %q %q %q", set[0].ID, priv.KeyID, pub.ID)
	}
	jwks, _ := os.ReadFile(path + JWKSSuffix)
	if strings.Contains(string(jwks), `"d"`) {
		t.Fatal("public JWKS holds private material")
	}
	// Refuses to overwrite, and leaves the key intact.
	before, _ := os.ReadFile(path)
	if _, err := Keygen(path, false); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("refused keygen changed the key file")
	}
	// With overwrite it replaces both files.
	pub2, err := Keygen(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if pub2.ID == pub.ID {
		t.Fatal("new key has the old kid")
	}
	if set, _ := LoadJWKS(path + JWKSSuffix); set[0].ID != pub2.ID {
		t.Fatal("JWKS not replaced")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestLoadPrivateRefusesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := Keygen(path, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v", err)
	}
	if _, err := LoadPrivate(path + JWKSSuffix); err == nil {
		t.Fatal("loaded a JWKS as a private key")
	}
}

// TestLoadJWKSUsesTheVerifier: LoadJWKS refuses what envelope.ParseJWKS
// refuses (the full rule list is tested there), and files that are not
// small regular files.
func TestLoadJWKSUsesTheVerifier(t *testing.T) {
	dir := t.TempDir()
	k, _ := Generate()
	pub, err := PublicKey(k.Key.(ed25519.PrivateKey).Public())
	if err != nil {
		t.Fatal(err)
	}
	good, err := MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		t.Fatal(err)
	}
	private, _ := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{k}})
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK, _ := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{{Key: &p384.PublicKey, KeyID: "x"}}})
	cases := map[string][]byte{
		"private key":      private,
		"unknown member":   []byte(strings.Replace(string(good), `"use": "sig"`, `"use": "sig", "key_ops": "verify"`, 1)),
		"second document":  append(append([]byte{}, good...), good...),
		"empty":            []byte(`{"keys":[]}`),
		"not JSON":         []byte(`keys`),
		"unsupported P384": p384JWK,
	}
	for name, data := range cases {
		path := filepath.Join(dir, "c.jwks.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadJWKS(path); !errors.Is(err, envelope.ErrJWKS) {
			t.Errorf("%s: got %v, want ErrJWKS", name, err)
		}
	}
	fifo := filepath.Join(dir, "fifo.jwks.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadJWKS(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		// Opening a FIFO for reading blocks until a writer appears;
		// unblock it so the test ends, then fail.
		f, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
		f.Close()
		t.Fatal("LoadJWKS hung on a FIFO")
	}
	big := filepath.Join(dir, "big.jwks.json")
	if err := os.WriteFile(big, append(good, make([]byte, envelope.MaxJWKS)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJWKS(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversize: %v", err)
	}
	path := filepath.Join(dir, "good.jwks.json")
	os.WriteFile(path, good, 0o644)
	if ks, err := LoadJWKS(path); err != nil || len(ks) != 1 || ks[0].ID != pub.ID {
		t.Fatalf("valid set: %v", err)
	}
}

func TestMergeRemove(t *testing.T) {
	gen := func() envelope.Key {
		k, _ := Generate()
		pub, err := PublicKey(k.Key.(ed25519.PrivateKey).Public())
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	a, b := gen(), gen()
	m, err := Merge([]envelope.Key{a}, []envelope.Key{b, a})
	if err != nil || len(m) != 2 {
		t.Fatalf("merge: %v %d", err, len(m))
	}
	evil := b
	evil.ID = a.ID
	if _, err := Merge(m, []envelope.Key{evil}); err == nil {
		t.Fatal("merged two keys under one kid")
	}
	r, err := Remove(m, a.ID)
	if err != nil || len(r) != 1 || r[0].ID != b.ID {
		t.Fatalf("remove: %v", err)
	}
	if _, err := Remove(r, a.ID); err == nil {
		t.Fatal("removed an absent key")
	}
	if _, err := Remove(r, b.ID); err == nil {
		t.Fatal("removed the last key")
	}
}

// TestRotation follows docs/keys.md: a bundle signed by the old key keeps
// verifying while verifiers trust old+new, and stops once the old key is
// removed; bundles from the new key verify throughout.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	if _, err := Keygen(oldPath, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Keygen(newPath, false); err != nil {
		t.Fatal(err)
	}
	iat := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sealWith := func(keyPath string, version uint64) []byte {
		k, err := LoadPrivate(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Signer(k)
		if err != nil {
			t.Fatal(err)
		}
		c := envelope.Claims{Project: "shop", Environment: "production", Audience: ir.AudienceServer,
			Version: version, IssuedAt: iat, ExpiresAt: iat.Add(720 * time.Hour)}
		out, err := seal.Seal([]byte("payload"), c, s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	verify := func(data []byte, jwks string) error {
		ks, err := LoadJWKS(jwks)
		if err != nil {
			t.Fatal(err)
		}
		_, err = envelope.Verify(data, envelope.Trust{Keys: ks, Project: "shop", Environment: "production",
			Audience: ir.AudienceServer, Now: iat.Add(time.Hour)})
		return err
	}
	oldBundle := sealWith(oldPath, 1)
	trusted := filepath.Join(dir, "trusted.jwks.json")
	oldSet, _ := LoadJWKS(oldPath + JWKSSuffix)
	newSet, _ := LoadJWKS(newPath + JWKSSuffix)

	// Step 0: verifiers trust the old key only.
	if err := WriteJWKS(trusted, oldSet, false); err != nil {
		t.Fatal(err)
	}
	if err := verify(oldBundle, trusted); err != nil {
		t.Fatal(err)
	}
	// Step 1: add the new key to verifiers.
	both, err := Merge(oldSet, newSet)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJWKS(trusted, both, true); err != nil {
		t.Fatal(err)
	}
	// Step 2: the publisher switches keys; old and new bundles verify.
	newBundle := sealWith(newPath, 2)
	for _, b := range [][]byte{oldBundle, newBundle} {
		if err := verify(b, trusted); err != nil {
			t.Fatal(err)
		}
	}
	// Step 3: remove the old key; its bundles are no longer trusted.
	only, err := Remove(both, oldSet[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJWKS(trusted, only, true); err != nil {
		t.Fatal(err)
	}
	if err := verify(oldBundle, trusted); !errors.Is(err, envelope.ErrUnknownKey) {
		t.Fatalf("old bundle after removal: %v", err)
	}
	if err := verify(newBundle, trusted); err != nil {
		t.Fatal(err)
	}
}
