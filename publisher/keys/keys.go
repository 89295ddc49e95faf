// Package keys manages the publisher's signing keys and the JWKS files that
// verifiers trust: Ed25519 key generation, private key files (a JWK, mode
// 0600), public JWKS files, RFC 7638 thumbprint key ids, and the merging
// and removal of keys that key rotation needs (see docs/keys.md).
//
// Public keys are the verifier's own type, envelope.Key, and JWKS files are
// read with envelope.ParseJWKS: the publisher trusts exactly what every
// runtime trusts. go-jose is used only for private key files.
package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/internal/safefile"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// maxKeyFile bounds a private key file; a JWK is a few hundred bytes.
const maxKeyFile = 64 << 10

// JWKSSuffix is appended to a private key's path to name its public JWKS.
const JWKSSuffix = ".jwks.json"

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, unpadded
// base64url) of a public key: the key id edgeflag uses.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k, err := seal.PublicKey("", pub)
	if err != nil {
		return "", fmt.Errorf("compute thumbprint: %w", err)
	}
	return envelope.Thumbprint(k), nil
}

// PublicKey describes a public key (Ed25519, or ECDSA P-256 such as a KMS
// key's) as a verifier's key with its thumbprint as id.
func PublicKey(pub crypto.PublicKey) (envelope.Key, error) {
	k, err := seal.PublicKey("", pub)
	if err != nil {
		return envelope.Key{}, fmt.Errorf("describe key: %w", err)
	}
	k.ID = envelope.Thumbprint(k)
	return k, nil
}

// Generate creates a new Ed25519 signing key as a private JWK whose kid is
// the thumbprint of its public key.
func Generate() (jose.JSONWebKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("generate key: %w", err)
	}
	kid, err := Thumbprint(pub)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: envelope.AlgEdDSA, Use: "sig"}, nil
}

// Keygen generates a key and writes the private JWK to path (mode 0600)
// and a JWKS holding its public key to path+JWKSSuffix (mode 0644). It
// refuses to replace existing files unless overwrite is set. It returns the
// public key.
func Keygen(path string, overwrite bool) (envelope.Key, error) {
	k, err := Generate()
	if err != nil {
		return envelope.Key{}, err
	}
	pub, err := PublicKey(k.Key.(crypto.Signer).Public())
	if err != nil {
		return envelope.Key{}, err
	}
	if !overwrite {
		for _, p := range []string{path, path + JWKSSuffix} {
			if _, err := os.Lstat(p); err == nil {
				return envelope.Key{}, fmt.Errorf("generate key: %s already exists (refusing to overwrite a key)", p)
			}
		}
	}
	if err := WritePrivate(path, k, overwrite); err != nil {
		return envelope.Key{}, err
	}
	if err := WriteJWKS(path+JWKSSuffix, []envelope.Key{pub}, overwrite); err != nil {
		return envelope.Key{}, err
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

// MarshalJWKS renders public keys as a JWKS ({"keys": [...]}) in the form
// `edgeflag keygen` writes, and checks the result with envelope.ParseJWKS:
// a set a verifier would refuse is never produced.
func MarshalJWKS(ks []envelope.Key) ([]byte, error) {
	type jwk struct {
		Use string `json:"use"`
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Crv string `json:"crv"`
		Alg string `json:"alg"`
		X   string `json:"x"`
		Y   string `json:"y,omitempty"`
	}
	enc := base64.RawURLEncoding
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for i, k := range ks {
		j := jwk{Use: "sig", Kid: k.ID, Alg: k.Algorithm}
		switch {
		case k.Algorithm == envelope.AlgEdDSA:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", enc.EncodeToString(k.Public)
		case k.Algorithm == envelope.AlgES256 && len(k.Public) == 65:
			j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", enc.EncodeToString(k.Public[1:33]), enc.EncodeToString(k.Public[33:])
		default:
			return nil, fmt.Errorf("marshal JWKS: key %d (%q) is not an Ed25519 or P-256 key", i, k.ID)
		}
		out.Keys = append(out.Keys, j)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	data = append(data, '\n')
	if _, err := envelope.ParseJWKS(data); err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	return data, nil
}

// WriteJWKS writes public keys as a JWKS to path with mode 0644,
// atomically. A set ParseJWKS would refuse is not written.
func WriteJWKS(path string, ks []envelope.Key, overwrite bool) error {
	data, err := MarshalJWKS(ks)
	if err != nil {
		return fmt.Errorf("write JWKS %s: %w", path, err)
	}
	return writeAtomic(path, data, 0o644, overwrite)
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
	data, err := safefile.Read(path, maxKeyFile)
	if err != nil {
		return k, fmt.Errorf("load private key: %w", err)
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return k, fmt.Errorf("load private key %s: %w", path, err)
	}
	if k.IsPublic() {
		return k, fmt.Errorf("load private key %s: file holds a public key", path)
	}
	signer, ok := k.Key.(crypto.Signer)
	if !ok {
		return k, fmt.Errorf("load private key %s: not a signing key", path)
	}
	pub, err := PublicKey(signer.Public())
	if err != nil {
		return k, fmt.Errorf("load private key %s: %w", path, err)
	}
	if k.KeyID != pub.ID {
		return k, fmt.Errorf("load private key %s: kid %q is not the key's RFC 7638 thumbprint %q", path, k.KeyID, pub.ID)
	}
	if k.Algorithm != "" && k.Algorithm != pub.Algorithm {
		return k, fmt.Errorf("load private key %s: alg %q does not fit a %s key", path, k.Algorithm, pub.Algorithm)
	}
	return k, nil
}

// Signer turns a private JWK into the bundle signer for it.
func Signer(k jose.JSONWebKey) (seal.Signer, error) {
	s, ok := k.Key.(crypto.Signer)
	if !ok || k.IsPublic() {
		return seal.Signer{}, fmt.Errorf("key %q is not a private signing key", k.KeyID)
	}
	return seal.Signer{KeyID: k.KeyID, Key: s}, nil
}

// LoadJWKS reads a JWKS file of trusted public keys with the verifier's
// parser (envelope.ParseJWKS, whose rules docs/keys.md lists). Only a
// regular file of at most envelope.MaxJWKS bytes is read.
func LoadJWKS(path string) ([]envelope.Key, error) {
	data, err := safefile.Read(path, envelope.MaxJWKS)
	if err != nil {
		return nil, fmt.Errorf("load JWKS: %w", err)
	}
	ks, err := envelope.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("load JWKS %s: %w", path, err)
	}
	return ks, nil
}

// Merge returns the union of key sets, keeping the first occurrence of
// each kid; the same kid naming two different keys is an error. Rotation
// adds the new public key to verifiers' JWKS with Merge.
func Merge(sets ...[]envelope.Key) ([]envelope.Key, error) {
	var out []envelope.Key
	byKid := map[string]int{}
	for _, set := range sets {
		for _, k := range set {
			if i, ok := byKid[k.ID]; ok {
				if out[i].Algorithm != k.Algorithm || string(out[i].Public) != string(k.Public) {
					return nil, fmt.Errorf("merge JWKS: kid %q names two different keys", k.ID)
				}
				continue
			}
			byKid[k.ID] = len(out)
			out = append(out, k)
		}
	}
	return out, nil
}

// Remove returns the set without the key kid; it is an error if kid is
// not in the set or if it is the only key. Rotation ends with Remove.
func Remove(set []envelope.Key, kid string) ([]envelope.Key, error) {
	var out []envelope.Key
	for _, k := range set {
		if k.ID != kid {
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
