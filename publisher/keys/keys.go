// Package keys manages the publisher's signing keys and the JWKS files that
// verifiers trust: Ed25519 key generation, private key files (a JWK, mode
// 0600), public JWKS files, RFC 7638 thumbprint key ids, and the merging
// and removal of keys that key rotation needs (see docs/keys.md).
package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
)

// JWKSSuffix is appended to a private key's path to name its public JWKS.
const JWKSSuffix = ".jwks.json"

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, unpadded
// base64url) of a public key: the key id edgeflag uses.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("compute thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicJWK describes a public key (Ed25519, or ECDSA P-256 such as a KMS
// key's) as a JWK with its thumbprint as kid, its alg and use "sig".
func PublicJWK(pub crypto.PublicKey) (jose.JSONWebKey, error) {
	var alg string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		alg = envelope.AlgEdDSA
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return jose.JSONWebKey{}, fmt.Errorf("describe key: unsupported curve %s", k.Curve.Params().Name)
		}
		alg = envelope.AlgES256
	default:
		return jose.JSONWebKey{}, fmt.Errorf("describe key: unsupported key type %T", pub)
	}
	kid, err := Thumbprint(pub)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}, nil
}

// Generate creates a new Ed25519 signing key as a private JWK whose kid is
// the thumbprint of its public key.
func Generate() (jose.JSONWebKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("generate key: %w", err)
	}
	k, err := PublicJWK(pub)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	k.Key = priv
	return k, nil
}

// Keygen generates a key and writes the private JWK to path (mode 0600)
// and a JWKS holding its public key to path+JWKSSuffix (mode 0644). It
// refuses to replace existing files unless overwrite is set. It returns the
// public JWK.
func Keygen(path string, overwrite bool) (jose.JSONWebKey, error) {
	k, err := Generate()
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	pub := k.Public()
	if !overwrite {
		for _, p := range []string{path, path + JWKSSuffix} {
			if _, err := os.Lstat(p); err == nil {
				return jose.JSONWebKey{}, fmt.Errorf("keygen: %s already exists (refusing to overwrite a key)", p)
			}
		}
	}
	if err := WritePrivate(path, k, overwrite); err != nil {
		return jose.JSONWebKey{}, err
	}
	if err := WriteJWKS(path+JWKSSuffix, []jose.JSONWebKey{pub}, overwrite); err != nil {
		return jose.JSONWebKey{}, err
	}
	return pub, nil
}

// WritePrivate writes a private JWK to path with mode 0600, atomically
// (temporary file, then link or rename). Without overwrite an existing
// file is an error.
func WritePrivate(path string, k jose.JSONWebKey, overwrite bool) error {
	if k.IsPublic() {
		return fmt.Errorf("write private key %s: key is not private", path)
	}
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("write private key %s: %w", path, err)
	}
	return writeAtomic(path, append(data, '\n'), 0o600, overwrite)
}

// WriteJWKS writes public keys as a JWKS ({"keys": [...]}) to path with
// mode 0644, atomically. Private keys are refused.
func WriteJWKS(path string, ks []jose.JSONWebKey, overwrite bool) error {
	if err := checkSet(ks); err != nil {
		return fmt.Errorf("write JWKS %s: %w", path, err)
	}
	data, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: ks}, "", "  ")
	if err != nil {
		return fmt.Errorf("write JWKS %s: %w", path, err)
	}
	return writeAtomic(path, append(data, '\n'), 0o644, overwrite)
}

func writeAtomic(path string, data []byte, mode os.FileMode, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(name, path)
	} else {
		// Link fails if path exists: no window in which a concurrent
		// keygen's key could be replaced.
		err = os.Link(name, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadPrivate reads a private JWK written by WritePrivate. It refuses a
// file readable by group or others, a public key and key types other than
// Ed25519 and ECDSA P-256, and a kid that is not the key's thumbprint.
func LoadPrivate(path string) (jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	fi, err := os.Stat(path)
	if err != nil {
		return k, fmt.Errorf("load private key: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return k, fmt.Errorf("load private key %s: mode %04o lets others read it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return k, fmt.Errorf("load private key: %w", err)
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return k, fmt.Errorf("load private key %s: %w", path, err)
	}
	if k.IsPublic() {
		return k, fmt.Errorf("load private key %s: file holds a public key", path)
	}
	pub := k.Public()
	if err := checkKey(pub); err != nil {
		return k, fmt.Errorf("load private key %s: %w", path, err)
	}
	return k, nil
}

// Signer turns a private JWK into the envelope signer for it.
func Signer(k jose.JSONWebKey) (envelope.Signer, error) {
	s, ok := k.Key.(crypto.Signer)
	if !ok || k.IsPublic() {
		return envelope.Signer{}, fmt.Errorf("key %q is not a private signing key", k.KeyID)
	}
	return envelope.Signer{KeyID: k.KeyID, Key: s}, nil
}

// LoadJWKS reads a JWKS file of trusted public keys. Every key must be an
// Ed25519 or P-256 public key with a kid equal to its thumbprint, an alg
// matching its type, and a kid unique in the set.
func LoadJWKS(path string) ([]jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load JWKS: %w", err)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("load JWKS %s: %w", path, err)
	}
	return ks, nil
}

// ParseJWKS parses and checks JWKS bytes as LoadJWKS does.
func ParseJWKS(data []byte) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("parse JWKS: no keys")
	}
	if err := checkSet(set.Keys); err != nil {
		return nil, err
	}
	return set.Keys, nil
}

func checkSet(ks []jose.JSONWebKey) error {
	seen := map[string]bool{}
	for i, k := range ks {
		if !k.IsPublic() {
			return fmt.Errorf("key %d (%q) is private; a JWKS holds public keys only", i, k.KeyID)
		}
		if err := checkKey(k); err != nil {
			return fmt.Errorf("key %d: %w", i, err)
		}
		if seen[k.KeyID] {
			return fmt.Errorf("key %d: kid %q appears twice", i, k.KeyID)
		}
		seen[k.KeyID] = true
	}
	return nil
}

// checkKey checks a public JWK: supported type, kid = thumbprint, alg
// consistent with the type.
func checkKey(k jose.JSONWebKey) error {
	want, err := PublicJWK(k.Key)
	if err != nil {
		return err
	}
	if k.KeyID != want.KeyID {
		return fmt.Errorf("kid %q is not the key's RFC 7638 thumbprint %q", k.KeyID, want.KeyID)
	}
	if k.Algorithm != "" && k.Algorithm != want.Algorithm {
		return fmt.Errorf("key %q: alg %q does not fit a %s key", k.KeyID, k.Algorithm, want.Algorithm)
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("key %q: use %q, want \"sig\"", k.KeyID, k.Use)
	}
	return nil
}

// Merge returns the union of key sets, keeping the first occurrence of
// each kid; the same kid naming two different keys is an error. Rotation
// adds the new public key to verifiers' JWKS with Merge.
func Merge(sets ...[]jose.JSONWebKey) ([]jose.JSONWebKey, error) {
	var out []jose.JSONWebKey
	byKid := map[string]int{}
	for _, set := range sets {
		for _, k := range set {
			if i, ok := byKid[k.KeyID]; ok {
				a, _ := Thumbprint(out[i].Key)
				b, _ := Thumbprint(k.Key)
				if a != b || a == "" {
					return nil, fmt.Errorf("merge JWKS: kid %q names two different keys", k.KeyID)
				}
				continue
			}
			byKid[k.KeyID] = len(out)
			out = append(out, k)
		}
	}
	return out, nil
}

// Remove returns the set without the key kid; it is an error if kid is
// not in the set or if it is the only key. Rotation ends with Remove.
func Remove(set []jose.JSONWebKey, kid string) ([]jose.JSONWebKey, error) {
	var out []jose.JSONWebKey
	for _, k := range set {
		if k.KeyID != kid {
			out = append(out, k)
		}
	}
	if len(out) == len(set) {
		return nil, fmt.Errorf("remove key: kid %q is not in the set", kid)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("remove key: %q is the only key; add its successor first", kid)
	}
	return out, nil
}
