package envelope

import (
	"strconv"
)

// Key is one trusted public key.
type Key struct {
	// ID is the JWK "kid" that bundle headers name. edgeflag key ids are
	// RFC 7638 thumbprints (Thumbprint), which ParseJWKS insists on.
	ID string
	// Algorithm is AlgEdDSA or AlgES256.
	Algorithm string
	// Public is the raw public key: 32 bytes for Ed25519, the 65-byte
	// uncompressed P-256 point 0x04‖X‖Y for ES256.
	Public []byte
}

// Limits of ParseJWKS.
const (
	// MaxJWKS is the largest JWKS document ParseJWKS reads, in bytes.
	MaxJWKS = 64 << 10
	// MaxJWKSKeys is the most keys one JWKS may hold.
	MaxJWKSKeys = 64
)

// p256PointLen is the length of an uncompressed P-256 point.
const p256PointLen = 65

// check reports whether the key material fits its algorithm.
func (k *Key) check() error {
	switch k.Algorithm {
	case AlgEdDSA:
		if len(k.Public) != ed25519PublicKeySize {
			return reject(ErrJWKS, "Ed25519 public key is "+strconv.Itoa(len(k.Public))+" bytes, want 32")
		}
		return nil
	case AlgES256:
		if len(k.Public) != p256PointLen || k.Public[0] != 4 {
			return reject(ErrJWKS, "P-256 public key is not a 65-byte uncompressed point")
		}
		return checkP256Point(k.Public)
	}
	return reject(ErrJWKS, "algorithm "+quote(k.Algorithm)+" is not EdDSA or ES256")
}

// Thumbprint returns the RFC 7638 JWK thumbprint of k: the SHA-256 of the
// key's required members in lexicographic order with no whitespace,
// unpadded base64url. It is edgeflag's key id. It returns "" for a key
// whose algorithm is neither EdDSA nor ES256.
func Thumbprint(k Key) string {
	var canon []byte
	enc := b64()
	switch k.Algorithm {
	case AlgEdDSA:
		canon = append(canon, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		canon = enc.AppendEncode(canon, k.Public)
		canon = append(canon, `"}`...)
	case AlgES256:
		if len(k.Public) != p256PointLen {
			return ""
		}
		canon = append(canon, `{"crv":"P-256","kty":"EC","x":"`...)
		canon = enc.AppendEncode(canon, k.Public[1:33])
		canon = append(canon, `","y":"`...)
		canon = enc.AppendEncode(canon, k.Public[33:])
		canon = append(canon, `"}`...)
	default:
		return ""
	}
	sum := sum256(canon)
	return enc.EncodeToString(sum[:])
}

// ParseJWKS parses a JWKS of trusted public keys strictly, enforcing
// exactly what docs/keys.md promises:
//
//   - one JSON object {"keys": [...]} with no other member, nothing after
//     it, at most MaxJWKS bytes and MaxJWKSKeys keys, at least one key;
//   - each key an object of string members among kty, crv, x, y, kid, alg,
//     use (no other member; a private key's "d" is refused as such), no
//     member twice;
//   - "kty":"OKP" with "crv":"Ed25519" and a 32-byte "x", or "kty":"EC"
//     with "crv":"P-256" and 32-byte "x" and "y" forming a point on the
//     curve, in canonical unpadded base64url;
//   - "kid" present and equal to the key's RFC 7638 thumbprint, unique in
//     the set; "alg", if present, the key type's algorithm (EdDSA or
//     ES256); "use", if present, "sig".
//
// Every failure matches ErrJWKS with errors.Is and names the key by index.
func ParseJWKS(data []byte) ([]Key, error) {
	if len(data) > MaxJWKS {
		return nil, reject(ErrJWKS, "JWKS is "+strconv.Itoa(len(data))+" bytes, limit is "+strconv.Itoa(MaxJWKS))
	}
	s := jsonScanner{data: data}
	var keys []Key
	sawKeys := false
	err := s.object(func(name string) error {
		if name != "keys" {
			return reject(ErrJWKS, "unknown member "+quote(name)+" (a JWKS holds only \"keys\")")
		}
		sawKeys = true
		if s.peek() != '[' {
			return reject(ErrJWKS, "\"keys\" is not an array")
		}
		return s.array(func(i int) error {
			if i >= MaxJWKSKeys {
				return reject(ErrJWKS, "more than "+strconv.Itoa(MaxJWKSKeys)+" keys")
			}
			k, err := parseJWK(&s)
			if err != nil {
				return prefixJWKS("key "+strconv.Itoa(i), err)
			}
			for j := range keys {
				if keys[j].ID == k.ID {
					return reject(ErrJWKS, "key "+strconv.Itoa(i)+": kid "+quote(k.ID)+" appears twice")
				}
			}
			keys = append(keys, k)
			return nil
		})
	}, func(name string) error {
		return reject(ErrJWKS, "member "+quote(name)+" appears twice")
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		if _, ok := err.(*jsonError); ok {
			return nil, reject(ErrJWKS, "JSON "+err.Error())
		}
		return nil, err
	}
	if !sawKeys || len(keys) == 0 {
		return nil, reject(ErrJWKS, "no keys")
	}
	return keys, nil
}

// prefixJWKS adds context to a JWKS rejection, keeping it a single
// "invalid JWKS: ..." error.
func prefixJWKS(where string, err error) error {
	if r, ok := err.(*rejection); ok && r.sentinel == ErrJWKS {
		return reject(ErrJWKS, where+": "+r.reason)
	}
	if _, ok := err.(*jsonError); ok {
		return reject(ErrJWKS, where+": JSON "+err.Error())
	}
	return err
}

// parseJWK reads one public key object at the scanner's position.
func parseJWK(s *jsonScanner) (Key, error) {
	var kty, crv, x, y, kid, alg, use string
	var has struct{ kty, crv, x, y, kid, alg, use bool }
	if s.peek() != '{' {
		return Key{}, reject(ErrJWKS, "not a JSON object")
	}
	err := s.object(func(name string) error {
		var dst *string
		var seen *bool
		switch name {
		case "kty":
			dst, seen = &kty, &has.kty
		case "crv":
			dst, seen = &crv, &has.crv
		case "x":
			dst, seen = &x, &has.x
		case "y":
			dst, seen = &y, &has.y
		case "kid":
			dst, seen = &kid, &has.kid
		case "alg":
			dst, seen = &alg, &has.alg
		case "use":
			dst, seen = &use, &has.use
		case "d":
			return reject(ErrJWKS, "holds a private key (\"d\"); a JWKS holds public keys only")
		default:
			return reject(ErrJWKS, "unknown member "+quote(name))
		}
		kind, text, err := s.scalar()
		if err != nil {
			return err
		}
		if kind != jsonString {
			return reject(ErrJWKS, "member "+quote(name)+" must be a string")
		}
		*dst, *seen = text, true
		return nil
	}, func(name string) error {
		return reject(ErrJWKS, "member "+quote(name)+" appears twice")
	})
	if err != nil {
		return Key{}, err
	}
	var k Key
	switch {
	case kty == "OKP" && crv == "Ed25519":
		if has.y {
			return Key{}, reject(ErrJWKS, "an OKP key has no \"y\"")
		}
		k.Algorithm = AlgEdDSA
		pub, err := decodeCoord(x, has.x, "x", ed25519PublicKeySize)
		if err != nil {
			return Key{}, err
		}
		k.Public = pub
	case kty == "EC" && crv == "P-256":
		k.Algorithm = AlgES256
		px, err := decodeCoord(x, has.x, "x", 32)
		if err != nil {
			return Key{}, err
		}
		py, err := decodeCoord(y, has.y, "y", 32)
		if err != nil {
			return Key{}, err
		}
		k.Public = make([]byte, 0, p256PointLen)
		k.Public = append(append(append(k.Public, 4), px...), py...)
	case !has.kty:
		return Key{}, reject(ErrJWKS, "member \"kty\" is missing")
	default:
		return Key{}, reject(ErrJWKS, "key type "+quote(kty)+" / curve "+quote(crv)+
			" is not supported (want OKP/Ed25519 or EC/P-256)")
	}
	if err := k.check(); err != nil {
		return Key{}, err
	}
	if has.alg && alg != k.Algorithm {
		return Key{}, reject(ErrJWKS, "alg "+quote(alg)+" does not fit a "+k.Algorithm+" key")
	}
	if has.use && use != "sig" {
		return Key{}, reject(ErrJWKS, "use "+quote(use)+", want \"sig\"")
	}
	if !has.kid || kid == "" {
		return Key{}, reject(ErrJWKS, "member \"kid\" is missing")
	}
	if tp := Thumbprint(k); kid != tp {
		return Key{}, reject(ErrJWKS, "kid "+quote(kid)+" is not the key's RFC 7638 thumbprint "+quote(tp))
	}
	k.ID = kid
	return k, nil
}

func decodeCoord(v string, present bool, name string, size int) ([]byte, error) {
	if !present {
		return nil, reject(ErrJWKS, "member "+quote(name)+" is missing")
	}
	out, err := b64().DecodeString(v)
	if err != nil {
		return nil, reject(ErrJWKS, "member "+quote(name)+" is not canonical unpadded base64url")
	}
	if len(out) != size {
		return nil, reject(ErrJWKS, "member "+quote(name)+" is "+strconv.Itoa(len(out))+" bytes, want "+strconv.Itoa(size))
	}
	return out, nil
}
