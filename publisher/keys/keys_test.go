package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
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
	if len(set) != 1 || set[0].KeyID != pub.KeyID || priv.KeyID != pub.KeyID || !set[0].IsPublic() {
		t.Fatalf("kid mismatch: %q %q %q", set[0].KeyID, priv.KeyID, pub.KeyID)
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
	if pub2.KeyID == pub.KeyID {
		t.Fatal("new key has the old kid")
	}
	if set, _ := LoadJWKS(path + JWKSSuffix); set[0].KeyID != pub2.KeyID {
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

func TestParseJWKSRejects(t *testing.T) {
	k, _ := Generate()
	pub := k.Public()
	mk := func(ks ...jose.JSONWebKey) []byte {
		var parts []string
		for _, k := range ks {
			b, err := k.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, string(b))
		}
		return []byte(`{"keys":[` + strings.Join(parts, ",") + `]}`)
	}
	wrongKid := pub
	wrongKid.KeyID = "my-key"
	wrongAlg := pub
	wrongAlg.Algorithm = "ES256"
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cases := map[string][]byte{
		"private key":      mk(k),
		"duplicate kid":    mk(pub, pub),
		"kid not thumb":    mk(wrongKid),
		"alg mismatch":     mk(wrongAlg),
		"empty":            []byte(`{"keys":[]}`),
		"unknown member":   []byte(`{"keys":[], "extra": 1}`),
		"not JSON":         []byte(`keys`),
		"unsupported P384": mk(jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "x"}),
	}
	for name, data := range cases {
		if _, err := ParseJWKS(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if ks, err := ParseJWKS(mk(pub)); err != nil || len(ks) != 1 {
		t.Fatalf("valid set: %v", err)
	}
}

func TestMergeRemove(t *testing.T) {
	a, _ := Generate()
	b, _ := Generate()
	m, err := Merge([]jose.JSONWebKey{a.Public()}, []jose.JSONWebKey{b.Public(), a.Public()})
	if err != nil || len(m) != 2 {
		t.Fatalf("merge: %v %d", err, len(m))
	}
	evil := b.Public()
	evil.KeyID = a.KeyID
	if _, err := Merge(m, []jose.JSONWebKey{evil}); err == nil {
		t.Fatal("merged two keys under one kid")
	}
	r, err := Remove(m, a.KeyID)
	if err != nil || len(r) != 1 || r[0].KeyID != b.KeyID {
		t.Fatalf("remove: %v", err)
	}
	if _, err := Remove(r, a.KeyID); err == nil {
		t.Fatal("removed an absent key")
	}
	if _, err := Remove(r, b.KeyID); err == nil {
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
	seal := func(keyPath string, version uint64) []byte {
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
		out, err := envelope.Seal([]byte("payload"), c, s)
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
	oldBundle := seal(oldPath, 1)
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
	newBundle := seal(newPath, 2)
	for _, b := range [][]byte{oldBundle, newBundle} {
		if err := verify(b, trusted); err != nil {
			t.Fatal(err)
		}
	}
	// Step 3: remove the old key; its bundles are no longer trusted.
	only, err := Remove(both, oldSet[0].KeyID)
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
