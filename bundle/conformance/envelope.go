package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// EnvelopeSuite is the envelope vector file (testdata/envelope/vectors.json):
// signed bundles, the trust to open each with, and the expected claims or
// the expected rejection. Every runtime's verifier replays it; the format
// is documented in README.md.
type EnvelopeSuite struct {
	// Path is the file the suite was read from (not part of the JSON).
	Path string `json:"-"`
	// Description says what the file covers.
	Description string `json:"description"`
	// Vectors are the cases, each opened independently.
	Vectors []EnvelopeVector `json:"vectors"`
}

// EnvelopeVector is one bundle and what opening it must give.
type EnvelopeVector struct {
	// Name identifies the vector (unique in the file).
	Name string `json:"name"`
	// Why says which rule of docs/bundle-format.md the vector exercises.
	Why string `json:"why"`
	// Bundle is the envelope exactly as a verifier receives it (a compact
	// JWS is ASCII, so it is stored as a JSON string).
	Bundle string `json:"bundle"`
	// Trust is what the verifier is configured with.
	Trust VectorTrust `json:"trust"`
	// Needs names an algorithm the vector depends on ("ES256"); a runtime
	// built without it must report ErrAlgorithm instead of Expect.
	Needs string `json:"needs,omitempty"`
	// Expect is the expected outcome.
	Expect VectorExpect `json:"expect"`
}

// VectorTrust is the verifier input of a vector. Zero values mean the
// verifier's defaults (no grace, no skew, no last version, default size
// limits, every supported algorithm).
type VectorTrust struct {
	// JWKS is the trusted key set as raw text, passed to the verifier's
	// JWKS parser byte for byte (some vectors hold a JWKS it must refuse).
	JWKS string `json:"jwks"`
	// Algorithms is the allow-list; absent means the default.
	Algorithms []string `json:"algorithms,omitempty"`
	// Project, Environment and Audience ("server" or "client") are what the
	// bundle must be for.
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Audience    string `json:"audience"`
	// Now is the verification time, RFC 3339.
	Now string `json:"now"`
	// GraceSeconds and MaxSkewSeconds are the expiry grace and the allowed
	// issued-at skew.
	GraceSeconds   int64 `json:"graceSeconds,omitempty"`
	MaxSkewSeconds int64 `json:"maxSkewSeconds,omitempty"`
	// LastVersion is the highest version accepted before.
	LastVersion uint64 `json:"lastVersion,omitempty"`
	// MaxCompressed and MaxDecompressed are payload limits in bytes.
	MaxCompressed   int `json:"maxCompressed,omitempty"`
	MaxDecompressed int `json:"maxDecompressed,omitempty"`
}

// VectorExpect is the outcome of opening a vector: either an error (the
// sentinel's name, envelope.ErrorName) or the claims and flag keys.
type VectorExpect struct {
	// Error is the rejection, e.g. "ErrSignature"; empty when the bundle
	// opens.
	Error string `json:"error,omitempty"`
	// Claims are the verified claims of an accepted bundle.
	Claims *VectorClaims `json:"claims,omitempty"`
	// Flags are the flag keys of the opened bundle, in key order.
	Flags []string `json:"flags,omitempty"`
}

// VectorClaims are verified claims in JSON form.
type VectorClaims struct {
	Algorithm   string `json:"alg"`
	KeyID       string `json:"kid"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Audience    string `json:"audience"`
	Version     uint64 `json:"version"`
	IssuedAt    string `json:"issuedAt"`
	ExpiresAt   string `json:"expiresAt"`
}

// Opened is what a runtime reports for one vector: a rejection's sentinel
// name, or the claims and flag keys.
type Opened struct {
	Error  string
	Claims *VectorClaims
	Flags  []string
}

// Opener opens one vector's bundle on some runtime. An error means the
// runtime could not run the vector at all (not a rejection).
type Opener interface {
	OpenVector(v *EnvelopeVector) (Opened, error)
}

// LoadEnvelopeFile reads and checks an envelope vector file.
func LoadEnvelopeFile(path string) (*EnvelopeSuite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read envelope vectors: %w", err)
	}
	s, err := ParseEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// ParseEnvelope decodes and checks an envelope vector file: unknown
// fields, duplicate names, unknown sentinel names, bad times and vectors
// that expect both an error and claims are errors.
func ParseEnvelope(data []byte) (*EnvelopeSuite, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s EnvelopeSuite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode envelope vectors: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode envelope vectors: trailing data after the JSON object")
	}
	seen := map[string]bool{}
	for i := range s.Vectors {
		v := &s.Vectors[i]
		if v.Name == "" || seen[v.Name] {
			return nil, fmt.Errorf("check vector %d: name %q is empty or not unique", i, v.Name)
		}
		seen[v.Name] = true
		if _, err := v.Trust.trust(nil); err != nil {
			return nil, fmt.Errorf("check vector %s: %w", v.Name, err)
		}
		e := v.Expect
		switch {
		case e.Error != "" && (e.Claims != nil || e.Flags != nil):
			return nil, fmt.Errorf("check vector %s: expects both an error and claims", v.Name)
		case e.Error == "" && e.Claims == nil:
			return nil, fmt.Errorf("check vector %s: expects neither an error nor claims", v.Name)
		case e.Error != "" && envelope.ErrorByName(e.Error) == nil:
			return nil, fmt.Errorf("check vector %s: unknown error name %q", v.Name, e.Error)
		}
		if v.Needs != "" && v.Needs != envelope.AlgES256 {
			return nil, fmt.Errorf("check vector %s: needs %q, want ES256 or nothing", v.Name, v.Needs)
		}
	}
	return &s, nil
}

// trust converts the vector trust to the Go verifier's, with keys.
func (vt VectorTrust) trust(keys []envelope.Key) (envelope.Trust, error) {
	aud, ok := ir.ParseAudience(vt.Audience)
	if !ok {
		return envelope.Trust{}, fmt.Errorf("trust: audience %q: want server or client", vt.Audience)
	}
	now, err := time.Parse(time.RFC3339Nano, vt.Now)
	if err != nil {
		return envelope.Trust{}, fmt.Errorf("trust: now: %w", err)
	}
	return envelope.Trust{
		Keys: keys, Algorithms: vt.Algorithms,
		Project: vt.Project, Environment: vt.Environment, Audience: aud, Now: now,
		Grace: time.Duration(vt.GraceSeconds) * time.Second, MaxSkew: time.Duration(vt.MaxSkewSeconds) * time.Second,
		LastVersion: vt.LastVersion, MaxCompressed: vt.MaxCompressed, MaxDecompressed: vt.MaxDecompressed,
	}, nil
}

// ClaimsJSON converts verified claims to the vector form.
func ClaimsJSON(c envelope.Claims) *VectorClaims {
	return &VectorClaims{
		Algorithm: c.Algorithm, KeyID: c.KeyID, Project: c.Project, Environment: c.Environment,
		Audience: c.Audience.String(), Version: c.Version,
		IssuedAt: c.IssuedAt.UTC().Format(time.RFC3339), ExpiresAt: c.ExpiresAt.UTC().Format(time.RFC3339),
	}
}

// NativeOpener opens vectors with the Go verifier (bundle/envelope): the
// JWKS through envelope.ParseJWKS, the bundle through envelope.Open.
// Without ES256 set, it behaves as a build without ES256 support would
// (the vectors' Needs rule), so hosts can compare like with like.
type NativeOpener struct {
	// NoES256 restricts the allow-list to EdDSA.
	NoES256 bool
}

// OpenVector implements Opener.
func (n NativeOpener) OpenVector(v *EnvelopeVector) (Opened, error) {
	keys, err := envelope.ParseJWKS([]byte(v.Trust.JWKS))
	if err != nil {
		return rejected(err)
	}
	t, err := v.Trust.trust(keys)
	if err != nil {
		return Opened{}, err
	}
	if n.NoES256 {
		if t.Algorithms == nil {
			t.Algorithms = []string{envelope.AlgEdDSA}
		} else {
			t.Algorithms = slices.DeleteFunc(slices.Clone(t.Algorithms), func(a string) bool { return a == envelope.AlgES256 })
		}
	}
	b, err := envelope.Open([]byte(v.Bundle), t)
	if err != nil {
		return rejected(err)
	}
	o := Opened{Claims: ClaimsJSON(b.Claims)}
	o.Flags = b.Engine.Keys()
	return o, nil
}

func rejected(err error) (Opened, error) {
	name := envelope.ErrorName(err)
	if name == "" {
		return Opened{}, fmt.Errorf("open: %w (matches no sentinel)", err)
	}
	return Opened{Error: name}, nil
}

// CheckOpened compares a runtime's outcome with the vector's expectation.
// supportsES256 tells whether the runtime verifies ES256: without it, a
// vector that needs ES256 must be rejected with ErrAlgorithm.
func CheckOpened(v *EnvelopeVector, got Opened, supportsES256 bool) error {
	want := v.Expect
	if v.Needs == envelope.AlgES256 && !supportsES256 {
		want = VectorExpect{Error: "ErrAlgorithm"}
	}
	if want.Error != "" {
		if got.Error != want.Error {
			return fmt.Errorf("got %s, want %s", describe(got), want.Error)
		}
		return nil
	}
	if got.Error != "" || got.Claims == nil {
		return fmt.Errorf("got %s, want the bundle to open", describe(got))
	}
	if *got.Claims != *want.Claims {
		return fmt.Errorf("claims %+v, want %+v", *got.Claims, *want.Claims)
	}
	if !slices.Equal(got.Flags, want.Flags) {
		return fmt.Errorf("flags %q, want %q", got.Flags, want.Flags)
	}
	return nil
}

func describe(o Opened) string {
	if o.Error != "" {
		return o.Error
	}
	return "an opened bundle"
}

// RunEnvelope opens every vector with op and returns the failures.
func RunEnvelope(s *EnvelopeSuite, op Opener, supportsES256 bool) []Failure {
	var out []Failure
	for i := range s.Vectors {
		v := &s.Vectors[i]
		got, err := op.OpenVector(v)
		if err == nil {
			err = CheckOpened(v, got, supportsES256)
		}
		if err != nil {
			out = append(out, Failure{File: s.Path, Case: v.Name, Err: err})
		}
	}
	return out
}
