package host

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	pubseal "github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// The modules the tests run. Every test of the module's behaviour runs on
// both EdDSA-only builds, the standard-Go edgeflag.wasm and the TinyGo
// edgeflag.tiny.wasm, through forEachModule; the ES256 build runs the
// envelope vectors.
var (
	goModule   = wasmbuild.Default
	tinyModule = wasmbuild.Tiny
	es256Build = wasmbuild.ES256
	modules    = []wasmbuild.Spec{goModule, tinyModule}
)

// moduleName is the file make writes s to.
func moduleName(s wasmbuild.Spec) string {
	for file, o := range wasmbuild.Outputs {
		if o == s {
			return file
		}
	}
	return s.String()
}

// forEachModule runs f as a subtest on every module in modules.
func forEachModule(t *testing.T, f func(t *testing.T, s wasmbuild.Spec)) {
	for _, s := range modules {
		t.Run(moduleName(s), func(t *testing.T) { f(t, s) })
	}
}

// testCache is shared by every Host the tests create, so the module is
// compiled once per test binary.
var testCache *Cache

func TestMain(m *testing.M) {
	var err error
	if testCache, err = NewCache(""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// module returns the module built as s.
func module(t testing.TB, s wasmbuild.Spec) []byte {
	t.Helper()
	wasm, err := wasmbuild.Module(s)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func newHost(t testing.TB, s wasmbuild.Spec, opts Options) *Host {
	t.Helper()
	if opts.Cache == nil {
		opts.Cache = testCache
	}
	h, err := New(context.Background(), module(t, s), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// testKey is a fixed Ed25519 key so sealed bundles are byte-stable.
func testKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = 7
	}
	return ed25519.NewKeyFromSeed(seed)
}

// testJWKS is the JWKS of testKey, its kid the RFC 7638 thumbprint.
func testJWKS() (jwks []byte, kid string) {
	pub := testKey().Public().(ed25519.PublicKey)
	kid = envelope.Thumbprint(envelope.Key{Algorithm: envelope.AlgEdDSA, Public: pub})
	x := base64.RawURLEncoding.EncodeToString(pub)
	return []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"` + kid + `","alg":"EdDSA","use":"sig"}]}`), kid
}

var (
	sealIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sealExp = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	openAt  = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// seal signs an encoded IR bundle with testKey for its own project,
// environment and audience.
func seal(t testing.TB, payload []byte, version uint64) []byte {
	t.Helper()
	b, err := ir.Decode(payload, ir.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	_, kid := testJWKS()
	out, err := pubseal.Seal(payload, envelope.Claims{Project: b.Project, Environment: b.Environment, Audience: b.Audience,
		Version: version, IssuedAt: sealIat, ExpiresAt: sealExp}, pubseal.Signer{KeyID: kid, Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// trustFor is the trust that accepts seal's bundles of b.
func trustFor(b *ir.Bundle) Trust {
	jwks, _ := testJWKS()
	return Trust{JWKS: jwks, Project: b.Project, Environment: b.Environment, Audience: b.Audience.String()}
}

// nativeTrust is trustFor for bundle/envelope.
func nativeTrust(t testing.TB, b *ir.Bundle, now time.Time) envelope.Trust {
	t.Helper()
	return nativeTrustOf(t, trustFor(b), now)
}

func mustDecode(t testing.TB, data []byte) *ir.Bundle {
	t.Helper()
	b, err := ir.Decode(data, ir.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nativeTrustOf is t for bundle/envelope at now.
func nativeTrustOf(t testing.TB, tr Trust, now time.Time) envelope.Trust {
	t.Helper()
	keys, err := envelope.ParseJWKS(tr.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	aud, _ := ir.ParseAudience(tr.Audience)
	return envelope.Trust{Keys: keys, Algorithms: tr.Algorithms, Project: tr.Project, Environment: tr.Environment, Audience: aud,
		Now: now, Grace: tr.Grace, MaxSkew: tr.MaxSkew, LastVersion: tr.LastVersion,
		MaxCompressed: tr.MaxCompressed, MaxDecompressed: tr.MaxDecompressed}
}
