package envelope

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Default size limits, used when the Trust fields are zero.
const (
	// DefaultMaxCompressed is the default limit on the compressed payload.
	DefaultMaxCompressed = 8 << 20
	// DefaultMaxDecompressed is the default limit on the decompressed
	// payload (the IR encoding).
	DefaultMaxDecompressed = 64 << 20
	// MaxHeader is the limit on the decoded protected header, in bytes.
	MaxHeader = 4096
)

// Trust is everything a verifier decides for itself rather than reading
// from the bundle: the keys it trusts, the algorithms it allows, what the
// bundle must be for, the clock and the last version it accepted.
type Trust struct {
	// Keys are the trusted public keys (a JWKS's "keys"), looked up by
	// KeyID. Private keys are accepted and reduced to their public half.
	Keys []jose.JSONWebKey
	// Algorithms is the allow-list of "alg" values; nil means EdDSA and
	// ES256. Only EdDSA and ES256 can ever be allowed: "none", HS* and
	// every other value are always rejected.
	Algorithms []string
	// Project, Environment and Audience are what the bundle must be for.
	Project     string
	Environment string
	Audience    ir.Audience
	// Now is the verification time. Required: the clock is a parameter.
	Now time.Time
	// Grace is how long after "exp" a bundle is still accepted (offline
	// clients re-verifying their last-known bundle). 0: none.
	Grace time.Duration
	// MaxSkew is how far in the future "iat" may be (clock skew between
	// publisher and verifier). 0: none.
	MaxSkew time.Duration
	// LastVersion is the highest version this verifier accepted before
	// (0: none). Lower versions fail with ErrRollback; an equal version is
	// accepted, so a verifier can re-open its current bundle at startup.
	LastVersion uint64
	// MaxCompressed and MaxDecompressed limit the payload before and
	// after decompression, in bytes; 0 means DefaultMaxCompressed and
	// DefaultMaxDecompressed.
	MaxCompressed   int
	MaxDecompressed int
	// Limits bound the IR decoder (Open only); zero fields mean the
	// ir.DefaultLimits values.
	Limits ir.Limits
}

// Verified is an envelope whose signature and claims were checked: the
// claims and the decompressed payload (the IR encoding).
type Verified struct {
	Claims  Claims
	Payload []byte
}

var b64 = base64.RawURLEncoding.Strict()

// Verify checks data against t, steps 1-9 of the algorithm in
// docs/bundle-format.md, and returns the claims and the decompressed
// payload. It does not decode the payload; Open does.
func Verify(data []byte, t Trust) (*Verified, error) {
	if t.Now.IsZero() {
		return nil, errors.New("verify bundle: trust has no clock (Now)")
	}
	if t.Project == "" || t.Environment == "" {
		return nil, errors.New("verify bundle: trust needs a project and an environment")
	}
	if _, ok := audienceName(t.Audience); !ok {
		return nil, fmt.Errorf("verify bundle: trust has invalid audience %d", t.Audience)
	}
	maxC, maxD := t.MaxCompressed, t.MaxDecompressed
	if maxC <= 0 {
		maxC = DefaultMaxCompressed
	}
	if maxD <= 0 {
		maxD = DefaultMaxDecompressed
	}

	// 1. Overall size.
	maxPayloadB64 := b64.EncodedLen(maxC)
	if limit := b64.EncodedLen(MaxHeader) + 1 + maxPayloadB64 + 1 + b64.EncodedLen(64); len(data) > limit {
		return nil, reject(ErrTooLarge, "envelope is %d bytes, limit is %d", len(data), limit)
	}
	// 2. Three parts, of the base64url alphabet only (the decoder would
	// skip newlines otherwise).
	for _, ch := range data {
		if !compactAlphabet[ch] {
			return nil, reject(ErrMalformed, "byte %q is not part of a compact JWS", ch)
		}
	}
	parts := bytes.Split(data, []byte{'.'})
	if len(parts) != 3 {
		return nil, reject(ErrMalformed, "compact JWS has %d parts, want 3", len(parts))
	}
	hdrB64, payB64, sigB64 := parts[0], parts[1], parts[2]
	// 3. Header.
	if len(hdrB64) > b64.EncodedLen(MaxHeader) {
		return nil, reject(ErrTooLarge, "header is %d bytes of base64, limit is %d", len(hdrB64), b64.EncodedLen(MaxHeader))
	}
	hdr, err := decodeB64(hdrB64, "header")
	if err != nil {
		return nil, err
	}
	c, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	// 4. Algorithm allow-list.
	allowed := t.Algorithms
	if allowed == nil {
		allowed = []string{AlgEdDSA, AlgES256}
	}
	if (c.Algorithm != AlgEdDSA && c.Algorithm != AlgES256) || !slices.Contains(allowed, c.Algorithm) {
		return nil, reject(ErrAlgorithm, "alg %q is not allowed", c.Algorithm)
	}
	// 5. Key lookup.
	pub, err := lookupKey(t.Keys, c.KeyID, c.Algorithm)
	if err != nil {
		return nil, err
	}
	// 6. Payload and signature.
	if len(payB64) > maxPayloadB64 {
		return nil, reject(ErrTooLarge, "payload is %d bytes of base64, limit is %d", len(payB64), maxPayloadB64)
	}
	payload, err := decodeB64(payB64, "payload")
	if err != nil {
		return nil, err
	}
	sig, err := decodeB64(sigB64, "signature")
	if err != nil {
		return nil, err
	}
	if len(sig) != 64 {
		return nil, reject(ErrMalformed, "signature is %d bytes, want 64", len(sig))
	}
	// 7. Signature over the signing input, with the standard library
	// exactly as docs/bundle-format.md describes (go-jose signs; tests and
	// FuzzOpen check that go-jose accepts whatever this accepts).
	input := data[:len(hdrB64)+1+len(payB64)]
	if !verifySignature(pub, input, sig) {
		return nil, reject(ErrSignature, "%s signature by key %q does not verify", c.Algorithm, c.KeyID)
	}
	// 8. Claims.
	if err := checkClaims(c, t); err != nil {
		return nil, err
	}
	// 9. Decompression.
	if len(payload) > maxC {
		return nil, reject(ErrTooLarge, "payload is %d bytes compressed, limit is %d", len(payload), maxC)
	}
	raw, err := decompress(payload, maxD)
	if err != nil {
		return nil, err
	}
	return &Verified{Claims: c, Payload: raw}, nil
}

// compactAlphabet marks the bytes a compact JWS may contain.
var compactAlphabet = func() (t [256]bool) {
	for _, ch := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") {
		t[ch] = true
	}
	return t
}()

// verifySignature checks a 64-byte EdDSA or ES256 (r‖s) signature.
func verifySignature(pub any, input, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, input, sig)
	case *ecdsa.PublicKey:
		h := sha256.Sum256(input)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, h[:], r, s)
	}
	return false
}

func decodeB64(s []byte, part string) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, reject(ErrMalformed, "%s is not unpadded base64url: %v", part, err)
	}
	return out[:n], nil
}

// parseHeader decodes the protected header strictly: a flat JSON object
// with exactly the fields of this format version, each once.
func parseHeader(hdr []byte) (Claims, error) {
	var c Claims
	if !utf8.Valid(hdr) {
		return c, reject(ErrMalformed, "header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return c, reject(ErrMalformed, "header is not a JSON object")
	}
	fields := make(map[string]any, nHdrs)
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return c, reject(ErrMalformed, "header JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return c, reject(ErrMalformed, "header JSON: expected a field name")
		}
		if _, dup := fields[key]; dup {
			return c, reject(ErrDuplicateKey, "header field %q appears twice", key)
		}
		val, err := dec.Token()
		if err != nil {
			return c, reject(ErrMalformed, "header JSON: %v", err)
		}
		if _, nested := val.(json.Delim); nested {
			return c, reject(ErrMalformed, "header field %q: objects and arrays are not allowed", key)
		}
		fields[key] = val
		order = append(order, key)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return c, reject(ErrMalformed, "header JSON: unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, reject(ErrMalformed, "header JSON: data after the object")
	}
	// The format version first: a future format may define other fields.
	f, err := intField(fields, hFmt)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			if _, present := fields[hFmt]; present {
				return c, reject(ErrFormatVersion, "fmt is not a version number")
			}
		}
		return c, err
	}
	if f != FormatVersion {
		return c, reject(ErrFormatVersion, "fmt is %d, this verifier supports %d", f, FormatVersion)
	}
	c.Format = FormatVersion
	for _, k := range order {
		switch k {
		case hAlg, hKid, hTyp, hFmt, hPrj, hEnv, hAud, hVer, hIat, hExp:
		default:
			return c, reject(ErrUnknownField, "header field %q is not part of format %d", k, FormatVersion)
		}
	}
	typ, err := strField(fields, hTyp)
	if err != nil {
		return c, err
	}
	if typ != Type {
		return c, reject(ErrMalformed, "typ is %q, want %q", typ, Type)
	}
	if c.Algorithm, err = strField(fields, hAlg); err != nil {
		return c, err
	}
	if c.KeyID, err = strField(fields, hKid); err != nil {
		return c, err
	}
	if c.Project, err = strField(fields, hPrj); err != nil {
		return c, err
	}
	if c.Environment, err = strField(fields, hEnv); err != nil {
		return c, err
	}
	aud, err := strField(fields, hAud)
	if err != nil {
		return c, err
	}
	var ok bool
	if c.Audience, ok = parseAudience(aud); !ok {
		return c, reject(ErrMalformed, "aud is %q, want \"server\" or \"client\"", aud)
	}
	if c.Version, err = intField(fields, hVer); err != nil {
		return c, err
	}
	if c.Version == 0 {
		return c, reject(ErrMalformed, "ver must be at least 1")
	}
	iat, err := intField(fields, hIat)
	if err != nil {
		return c, err
	}
	exp, err := intField(fields, hExp)
	if err != nil {
		return c, err
	}
	if exp <= iat {
		return c, reject(ErrMalformed, "exp %d is not after iat %d", exp, iat)
	}
	c.IssuedAt = time.Unix(int64(iat), 0).UTC()
	c.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	return c, nil
}

func strField(fields map[string]any, k string) (string, error) {
	v, ok := fields[k]
	if !ok {
		return "", reject(ErrMalformed, "header field %q is missing", k)
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", reject(ErrMalformed, "header field %q must be a non-empty string", k)
	}
	return s, nil
}

// intField reads a non-negative integer written as plain decimal digits
// without sign, fraction, exponent or leading zeros, at most MaxVersion.
func intField(fields map[string]any, k string) (uint64, error) {
	v, ok := fields[k]
	if !ok {
		return 0, reject(ErrMalformed, "header field %q is missing", k)
	}
	n, ok := v.(json.Number)
	s := string(n)
	if !ok || s == "" || len(s) > 16 || (len(s) > 1 && s[0] == '0') {
		return 0, reject(ErrMalformed, "header field %q must be an integer in 0..%d", k, uint64(MaxVersion))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, reject(ErrMalformed, "header field %q must be an integer in 0..%d", k, uint64(MaxVersion))
		}
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil || u > MaxVersion {
		return 0, reject(ErrMalformed, "header field %q must be an integer in 0..%d", k, uint64(MaxVersion))
	}
	return u, nil
}

// lookupKey finds the trusted key named kid and checks it fits alg.
func lookupKey(keys []jose.JSONWebKey, kid, alg string) (any, error) {
	for i := range keys {
		k := &keys[i]
		if k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			return nil, reject(ErrAlgorithm, "key %q is for alg %q, header says %q", kid, k.Algorithm, alg)
		}
		key := k.Key
		switch priv := key.(type) {
		case ed25519.PrivateKey:
			key = priv.Public()
		case *ecdsa.PrivateKey:
			key = &priv.PublicKey
		}
		switch pub := key.(type) {
		case ed25519.PublicKey:
			if alg == AlgEdDSA && len(pub) == ed25519.PublicKeySize {
				return pub, nil
			}
		case *ecdsa.PublicKey:
			if alg == AlgES256 && pub.Curve == elliptic.P256() {
				return pub, nil
			}
		}
		return nil, reject(ErrAlgorithm, "key %q (%T) cannot verify alg %q", kid, key, alg)
	}
	return nil, reject(ErrUnknownKey, "no trusted key has kid %q", kid)
}

func checkClaims(c Claims, t Trust) error {
	if c.Project != t.Project {
		return reject(ErrProject, "bundle is for project %q, want %q", c.Project, t.Project)
	}
	if c.Environment != t.Environment {
		return reject(ErrEnvironment, "bundle is for environment %q, want %q", c.Environment, t.Environment)
	}
	if c.Audience != t.Audience {
		return reject(ErrAudience, "bundle is for audience %q, want %q", c.Audience, t.Audience)
	}
	if c.IssuedAt.After(t.Now.Add(t.MaxSkew)) {
		return reject(ErrNotYetValid, "issued at %s, now is %s (max skew %s)",
			c.IssuedAt.Format(time.RFC3339), t.Now.UTC().Format(time.RFC3339), t.MaxSkew)
	}
	if !t.Now.Before(c.ExpiresAt.Add(t.Grace)) {
		return reject(ErrExpired, "expired at %s, now is %s (grace %s)",
			c.ExpiresAt.Format(time.RFC3339), t.Now.UTC().Format(time.RFC3339), t.Grace)
	}
	if c.Version < t.LastVersion {
		return &RollbackError{Got: c.Version, Last: t.LastVersion}
	}
	return nil
}
