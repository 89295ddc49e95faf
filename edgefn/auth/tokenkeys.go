package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// TokenKeys are edgefn's token keys: one private key that signs client
// tokens and values-mode bootstraps, and every key (that one included)
// whose signatures are accepted. The public half of the accepted keys is
// the JWKS served at /v1/keys.
//
// The token key secret is either one private JWK (from `edgeflag keygen`:
// Ed25519/EdDSA, or a P-256/ES256 key) or a JWK set {"keys": [...]} whose
// first key is private and signs, the others (private or public) only
// verify. Rotation therefore mirrors the bundle keys': publish the new key
// in the set, then make it the first, then drop the old one once the
// tokens it signed have expired (at most 1 hour) — see docs/operations.md.
type TokenKeys struct {
	signKID string
	signAlg jose.SignatureAlgorithm
	signer  crypto.Signer
	verify  map[string]verifyKey
	order   []string // kids in file order
}

type verifyKey struct {
	alg jose.SignatureAlgorithm
	pub crypto.PublicKey
	jwk jose.JSONWebKey // public, for the JWKS
}

// ParseTokenKeys parses the token key secret (see TokenKeys).
func ParseTokenKeys(data []byte) (*TokenKeys, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("parse token key: not a JSON object: %w", err)
	}
	var raws []json.RawMessage
	if set, ok := probe["keys"]; ok {
		if len(probe) != 1 {
			return nil, errors.New(`parse token key: a key set holds only "keys"`)
		}
		if err := json.Unmarshal(set, &raws); err != nil || len(raws) == 0 {
			return nil, errors.New(`parse token key: "keys" must be a non-empty array of JWKs`)
		}
	} else {
		raws = []json.RawMessage{data}
	}
	tk := &TokenKeys{verify: map[string]verifyKey{}}
	for i, raw := range raws {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("parse token key %d: %w", i, err)
		}
		pub, alg, err := checkTokenKey(k)
		if err != nil {
			return nil, fmt.Errorf("parse token key %d: %w", i, err)
		}
		if _, dup := tk.verify[k.KeyID]; dup {
			return nil, fmt.Errorf("parse token key %d: kid %q appears twice", i, k.KeyID)
		}
		tk.verify[k.KeyID] = verifyKey{alg: alg, pub: pub, jwk: jose.JSONWebKey{Key: pub, KeyID: k.KeyID, Algorithm: string(alg), Use: "sig"}}
		tk.order = append(tk.order, k.KeyID)
		if i == 0 {
			s, ok := k.Key.(crypto.Signer)
			if !ok || k.IsPublic() {
				return nil, errors.New("parse token key: the first key must be a private key (it signs tokens)")
			}
			tk.signKID, tk.signAlg, tk.signer = k.KeyID, alg, s
		}
	}
	return tk, nil
}

// checkTokenKey returns a key's public half and algorithm, checking that
// its kid is its RFC 7638 thumbprint and that alg and use fit.
func checkTokenKey(k jose.JSONWebKey) (crypto.PublicKey, jose.SignatureAlgorithm, error) {
	var pub crypto.PublicKey
	var alg jose.SignatureAlgorithm
	switch key := k.Key.(type) {
	case ed25519.PrivateKey:
		pub, alg = key.Public(), jose.EdDSA
	case ed25519.PublicKey:
		pub, alg = key, jose.EdDSA
	case *ecdsa.PrivateKey:
		if key.Curve != elliptic.P256() {
			return nil, "", errors.New("only P-256 ECDSA keys are supported")
		}
		pub, alg = &key.PublicKey, jose.ES256
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() {
			return nil, "", errors.New("only P-256 ECDSA keys are supported")
		}
		pub, alg = key, jose.ES256
	default:
		return nil, "", fmt.Errorf("unsupported key type %T (want Ed25519 or P-256)", k.Key)
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", err
	}
	if want := base64.RawURLEncoding.EncodeToString(tp); k.KeyID != want {
		return nil, "", fmt.Errorf("kid %q is not the key's RFC 7638 thumbprint %q", k.KeyID, want)
	}
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return nil, "", fmt.Errorf("alg %q does not fit a %s key", k.Algorithm, alg)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, "", fmt.Errorf("use %q, want \"sig\"", k.Use)
	}
	return pub, alg, nil
}

// SigningKeyID is the kid of the key that signs.
func (t *TokenKeys) SigningKeyID() string { return t.signKID }

// JWKS returns the public JWKS of every accepted key, signing key first.
func (t *TokenKeys) JWKS() []byte {
	set := jose.JSONWebKeySet{}
	for _, kid := range t.order {
		set.Keys = append(set.Keys, t.verify[kid].jwk)
	}
	data, err := json.Marshal(set)
	if err != nil {
		panic("auth: marshal public JWKS: " + err.Error()) // public Ed25519/P-256 keys always marshal
	}
	return data
}

// sign signs payload as a compact JWS with the signing key, kid and typ.
func (t *TokenKeys) sign(payload []byte, typ string) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: t.signAlg, Key: jose.JSONWebKey{Key: t.signer, KeyID: t.signKID}}, opts)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", typ, err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", typ, err)
	}
	return jws.CompactSerialize()
}

// ValuesType is the JWS "typ" of a values-mode bootstrap.
const ValuesType = "edgeflag-values+jws"

// SignValues signs a values-mode bootstrap payload (JSON) as a compact JWS
// with typ ValuesType, verifiable with the JWKS of /v1/keys.
func (t *TokenKeys) SignValues(payload []byte) (string, error) { return t.sign(payload, ValuesType) }
