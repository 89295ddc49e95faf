package envelope

import (
	"errors"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Default size limits, used when the Trust fields are zero.
const (
	// DefaultMaxCompressed is the default limit on the compressed payload.
	DefaultMaxCompressed = 8 << 20
	// DefaultMaxDecompressed is the default limit on the decompressed
	// payload (the IR encoding).
	DefaultMaxDecompressed = 64 << 20
)

// Trust is everything a verifier decides for itself rather than reading
// from the bundle: the keys it trusts, the algorithms it allows, what the
// bundle must be for, the clock and the last version it accepted.
type Trust struct {
	// Keys are the trusted public keys (ParseJWKS), looked up by ID.
	Keys []Key
	// Algorithms is the allow-list of "alg" values; nil means every
	// algorithm this build verifies (SupportedAlgorithms). "none", HS* and
	// every value other than EdDSA and ES256 are always rejected.
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

// limits returns the payload limits with defaults applied.
func (t *Trust) limits() (maxCompressed, maxDecompressed int) {
	maxCompressed, maxDecompressed = t.MaxCompressed, t.MaxDecompressed
	if maxCompressed <= 0 {
		maxCompressed = DefaultMaxCompressed
	}
	if maxDecompressed <= 0 {
		maxDecompressed = DefaultMaxDecompressed
	}
	return maxCompressed, maxDecompressed
}

// check reports a trust the caller filled in wrongly. Such errors match
// none of the sentinels: they are the caller's bug, not the bundle's.
func (t *Trust) check() error {
	if t.Now.IsZero() {
		return errors.New("verify bundle: trust has no clock (Now)")
	}
	if t.Project == "" || t.Environment == "" {
		return errors.New("verify bundle: trust needs a project and an environment")
	}
	if t.Audience != ir.AudienceServer && t.Audience != ir.AudienceClient {
		return errors.New("verify bundle: trust has invalid audience " + strconv.Itoa(int(t.Audience)))
	}
	return nil
}

// SupportedAlgorithms returns the algorithms this build of the package
// verifies, in a new slice: EdDSA always, ES256 unless the build leaves it
// out (tag edgeflag_noes256).
func SupportedAlgorithms() []string {
	if es256Supported {
		return []string{AlgEdDSA, AlgES256}
	}
	return []string{AlgEdDSA}
}

// Verified is an envelope whose signature and claims were checked: the
// claims and the decompressed payload (the IR encoding).
type Verified struct {
	Claims  Claims
	Payload []byte
}

// Verify checks data against t, steps 1–9 of the algorithm in
// docs/bundle-format.md, and returns the claims and the decompressed
// payload. It does not decode the payload; Open does. Every rejection
// matches exactly one sentinel with errors.Is.
func Verify(data []byte, t Trust) (*Verified, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	maxC, maxD := t.limits()
	// 1–3. Size, shape, header.
	p, err := split(data, maxC)
	if err != nil {
		return nil, err
	}
	c, err := parseHeaderB64(p.header)
	if err != nil {
		return nil, err
	}
	// 4. Algorithm allow-list.
	if !algorithmAllowed(c.Algorithm, t.Algorithms) {
		return nil, reject(ErrAlgorithm, "alg "+quote(c.Algorithm)+" is not allowed")
	}
	// 5. Key lookup.
	key, err := lookupKey(t.Keys, c.KeyID, c.Algorithm)
	if err != nil {
		return nil, err
	}
	// 6. Payload and signature decoding.
	if len(p.payload) > b64len(maxC) {
		return nil, reject(ErrTooLarge, "payload is "+strconv.Itoa(len(p.payload))+" bytes of base64, limit is "+strconv.Itoa(b64len(maxC)))
	}
	payload, err := decodeB64(p.payload, "payload")
	if err != nil {
		return nil, err
	}
	sig, err := decodeB64(p.signature, "signature")
	if err != nil {
		return nil, err
	}
	if len(sig) != maxSignature {
		return nil, reject(ErrMalformed, "signature is "+strconv.Itoa(len(sig))+" bytes, want 64")
	}
	// 7. Signature over the signing input. Nothing from the header is
	// trusted before this point except to choose the key.
	if !verifySignature(key, p.input, sig) {
		return nil, reject(ErrSignature, c.Algorithm+" signature by key "+quote(c.KeyID)+" does not verify")
	}
	// 8. Claims.
	if err := checkClaims(c, &t); err != nil {
		return nil, err
	}
	// 9. Decompression.
	if len(payload) > maxC {
		return nil, reject(ErrTooLarge, "payload is "+strconv.Itoa(len(payload))+" bytes compressed, limit is "+strconv.Itoa(maxC))
	}
	raw, err := decompress(payload, maxD)
	if err != nil {
		return nil, err
	}
	return &Verified{Claims: c, Payload: raw}, nil
}

// algorithmAllowed reports whether alg is verifiable by this build and in
// the caller's allow-list (nil: every supported algorithm).
func algorithmAllowed(alg string, allowed []string) bool {
	supported := alg == AlgEdDSA || (alg == AlgES256 && es256Supported)
	if !supported {
		return false
	}
	if allowed == nil {
		return true
	}
	for _, a := range allowed {
		if a == alg {
			return true
		}
	}
	return false
}

// lookupKey finds the trusted key named kid and checks it is for alg.
func lookupKey(keys []Key, kid, alg string) (*Key, error) {
	for i := range keys {
		k := &keys[i]
		if k.ID != kid {
			continue
		}
		if k.Algorithm != alg {
			return nil, reject(ErrAlgorithm, "key "+quote(kid)+" is for alg "+quote(k.Algorithm)+", header says "+quote(alg))
		}
		if err := k.check(); err != nil {
			return nil, reject(ErrAlgorithm, "key "+quote(kid)+": "+err.Error())
		}
		return k, nil
	}
	return nil, reject(ErrUnknownKey, "no trusted key has kid "+quote(kid))
}

// verifySignature checks a 64-byte EdDSA or ES256 (r‖s) signature.
func verifySignature(k *Key, input, sig []byte) bool {
	switch k.Algorithm {
	case AlgEdDSA:
		return verifyEd25519(k.Public, input, sig)
	case AlgES256:
		return verifyES256(k.Public, input, sig)
	}
	return false
}

func checkClaims(c Claims, t *Trust) error {
	if c.Project != t.Project {
		return reject(ErrProject, "bundle is for project "+quote(c.Project)+", want "+quote(t.Project))
	}
	if c.Environment != t.Environment {
		return reject(ErrEnvironment, "bundle is for environment "+quote(c.Environment)+", want "+quote(t.Environment))
	}
	if c.Audience != t.Audience {
		return reject(ErrAudience, "bundle is for audience "+quote(c.Audience.String())+", want "+quote(t.Audience.String()))
	}
	if c.IssuedAt.After(t.Now.Add(t.MaxSkew)) {
		return reject(ErrNotYetValid, "issued at "+c.IssuedAt.Format(time.RFC3339)+", now is "+
			t.Now.UTC().Format(time.RFC3339)+" (max skew "+t.MaxSkew.String()+")")
	}
	if !t.Now.Before(c.ExpiresAt.Add(t.Grace)) {
		return reject(ErrExpired, "expired at "+c.ExpiresAt.Format(time.RFC3339)+", now is "+
			t.Now.UTC().Format(time.RFC3339)+" (grace "+t.Grace.String()+")")
	}
	if c.Version < t.LastVersion {
		return &RollbackError{Got: c.Version, Last: t.LastVersion}
	}
	return nil
}
