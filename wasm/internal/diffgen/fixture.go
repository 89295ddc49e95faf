package diffgen

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// The fixture's fixed validity and opening time, as the sealed corpus'.
var (
	fixtureIat    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fixtureExp    = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	fixtureOpenAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

const fixtureVersion = 1

// FixtureKey is the fixture's signing key: its seed is the SHA-256 of a
// label, so the fixture is byte-stable.
func FixtureKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("edgeflag wasm differential fixture"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Stats counts what a fixture holds.
type Stats struct {
	// Tried is the number of generator inputs drawn, Configs the number
	// that compiled (one suite each).
	Tried, Configs int
	// Cases is the number of evaluations (native lines), Results the
	// number of results they hold (an evaluate-all case holds one per
	// flag).
	Cases, Results int
}

// Fixture builds, file by file (paths relative to the fixture directory),
// a differential in the sealed corpus' layout: <name>.json suites (the
// corpus file format without expectations: the native line is the only
// one) and sealed/ with manifest.json, jwks.json, <name>.jws and
// <name>.native.ndjson. It draws inputs from NewInputs(seed, 1) until the
// cases hold at least results results.
//
// Each probe becomes two cases, evaluate-all and evaluate-one, as the
// wazero differential runs them, with the context as the JavaScript client
// sends it: contexts encoding/json refuses are left out (JSON.parse would
// read them as something else; the wazero differential checks that the
// module refuses them) and -0 becomes 0, as JSON.stringify writes it.
func Fixture(seed uint64, results int) (map[string][]byte, Stats, error) {
	var st Stats
	if results <= 0 {
		return nil, st, errors.New("build fixture: want a positive number of results")
	}
	priv := FixtureKey()
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		return nil, st, fmt.Errorf("build fixture: %w", err)
	}
	jwks, err := keys.MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		return nil, st, fmt.Errorf("build fixture: %w", err)
	}
	files := map[string][]byte{"sealed/jwks.json": append(jwks, '\n')}
	m := conformance.SealedManifest{
		Description: "The native-versus-wasm differential: generated configs sealed (zstd + JWS, EdDSA) and what the native engine " +
			"prints for each generated case; written by wasm/internal/diffgen (go run ./wasm/internal/diffgen/cmd/difffixture), not committed",
		JWKS: "jwks.json", Version: fixtureVersion, IssuedAt: fixtureIat.Format(time.RFC3339),
		ExpiresAt: fixtureExp.Format(time.RFC3339), OpenAt: fixtureOpenAt.Format(time.RFC3339),
	}
	in := NewInputs(seed, 1)
	for st.Results < results {
		st.Tried++
		if st.Tried > 50 && st.Configs == 0 {
			return nil, st, errors.New("build fixture: no generated config compiles")
		}
		p, ok := Compile(in.Next())
		if !ok {
			continue
		}
		name := fmt.Sprintf("d%04d", st.Configs)
		s, native, n, err := p.suite(name, priv, pub.ID)
		if err != nil {
			return nil, st, fmt.Errorf("build fixture: %s: %w (config %s)", name, err, p.Config)
		}
		st.Configs++
		st.Cases += len(s.suite.Cases)
		st.Results += n
		data, err := json.Marshal(s.suite)
		if err != nil {
			return nil, st, fmt.Errorf("build fixture: %s: %w", name, err)
		}
		files[name+".json"] = append(data, '\n')
		files["sealed/"+name+".jws"] = s.sealed
		files["sealed/"+name+".native.ndjson"] = native
		m.Suites = append(m.Suites, conformance.SealedSuite{Suite: name + ".json", Bundle: name + ".jws", Native: name + ".native.ndjson",
			Project: p.Bundle.Project, Environment: p.Bundle.Environment, Audience: p.Bundle.Audience.String(), Cases: len(s.suite.Cases)})
	}
	mf, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, st, fmt.Errorf("build fixture: %w", err)
	}
	files["sealed/manifest.json"] = append(mf, '\n')
	return files, st, nil
}

type sealedSuite struct {
	suite  conformance.Suite
	sealed []byte
}

// suite seals p and draws its probes: the suite, its native lines and the
// number of results they hold.
func (p *Program) suite(name string, priv ed25519.PrivateKey, kid string) (*sealedSuite, []byte, int, error) {
	b := p.Bundle
	data, err := seal.Seal(p.Payload, envelope.Claims{Project: b.Project, Environment: b.Environment, Audience: b.Audience,
		Version: fixtureVersion, IssuedAt: fixtureIat, ExpiresAt: fixtureExp}, seal.Signer{KeyID: kid, Key: priv})
	if err != nil {
		return nil, nil, 0, err
	}
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		return nil, nil, 0, err
	}
	opened, err := envelope.Open(data, envelope.Trust{Keys: []envelope.Key{pub}, Project: b.Project,
		Environment: b.Environment, Audience: b.Audience, Now: fixtureOpenAt})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open the sealed bundle: %w", err)
	}
	sum := sha256.Sum256(p.Payload)
	s := &sealedSuite{sealed: data, suite: conformance.Suite{
		Description: "generated by wasm/internal/diffgen; the expectation is the native line",
		Config:      p.Config, Environment: b.Environment, Audience: b.Audience.String(),
		Bundle: p.Payload, BundleSHA256: hex.EncodeToString(sum[:]),
	}}
	var native []byte
	results := 0
	line := func(rs []eval.Result, array bool) error {
		l, err := NativeLine(rs, array)
		if err != nil {
			return err
		}
		native = append(append(native, l...), '\n')
		results += len(rs)
		return nil
	}
	keys := opened.Engine.Keys()
	for i := range ProbesPerProgram {
		pr := p.Probe(keys, fixtureOpenAt)
		if pr.Parsed == nil {
			continue
		}
		// The context exactly as the case carries it, read back the way
		// `edgeflag eval` reads it.
		text, err := json.Marshal(positiveZero(pr.Parsed))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("write context: %w", err)
		}
		var ctx map[string]any
		if err := json.Unmarshal(text, &ctx); err != nil {
			return nil, nil, 0, fmt.Errorf("read context back: %w", err)
		}
		now := pr.Now.UTC().Format(time.RFC3339Nano)
		s.suite.Cases = append(s.suite.Cases, conformance.Case{Name: fmt.Sprintf("p%02d-all", i), Kind: conformance.KindAll, Context: ctx, Now: now})
		if err := line(opened.Engine.EvaluateAll(ctx, pr.Now, nil), true); err != nil {
			return nil, nil, 0, err
		}
		one := conformance.Case{Name: fmt.Sprintf("p%02d-one", i), Flag: pr.Key, Context: ctx, Now: now}
		r := opened.Engine.Evaluate(pr.Key, ctx, pr.Now)
		if pr.Type != 0 {
			one.Type = pr.Type.String()
			r = opened.Engine.EvaluateType(pr.Key, pr.Type, ctx, pr.Now)
		}
		s.suite.Cases = append(s.suite.Cases, one)
		if err := line([]eval.Result{r}, false); err != nil {
			return nil, nil, 0, err
		}
	}
	return s, native, results, nil
}

// positiveZero replaces -0 by 0 throughout v, in place.
func positiveZero(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 && math.Signbit(x) {
			return 0.0
		}
	case map[string]any:
		for k, e := range x {
			x[k] = positiveZero(e)
		}
	case []any:
		for i, e := range x {
			x[i] = positiveZero(e)
		}
	}
	return v
}

// WriteFixture writes Fixture(seed, results) to dir, replacing what dir
// held: the files go to a new directory beside it first, so a killed run
// leaves the old fixture or none, never half of one.
func WriteFixture(dir string, seed uint64, results int) (Stats, error) {
	files, st, err := Fixture(seed, results)
	if err != nil {
		return st, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "sealed"), 0o755); err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, filepath.FromSlash(name)), data, 0o644); err != nil {
			return st, fmt.Errorf("write fixture: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return st, fmt.Errorf("write fixture: %w", err)
	}
	return st, nil
}
