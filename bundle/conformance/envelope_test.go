package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

var envelopeFile = filepath.Join(corpusDir, "envelope", "vectors.json")

// The vectors' fixed keys: Ed25519 from seeds, P-256 from a scalar. ES256
// signatures are made deterministic (RFC 6979, crypto/ecdsa with a nil
// random source) so that -update reproduces the file.
func vecEdKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func vecECKey(t *testing.T) *ecdsa.PrivateKey {
	s := sha256.Sum256([]byte("edgeflag conformance es256"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), s[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// deterministic signs with RFC 6979 whatever random source it is given.
type deterministic struct{ *ecdsa.PrivateKey }

func (d deterministic) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return d.PrivateKey.Sign(nil, digest, opts)
}

func vecSigner(t *testing.T, priv crypto.Signer) (seal.Signer, envelope.Key) {
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return seal.Signer{KeyID: pub.ID, Key: priv}, pub
}

func vecJWKS(t *testing.T, ks ...envelope.Key) string {
	data, err := keys.MarshalJWKS(ks)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// vecConfig is the small project every accepted vector carries.
const vecConfig = `project: shop
environments: [production, staging]
flags:
  new-checkout:
    type: boolean
    clientSide: true
    environments:
      production:
        enabled: true
        rules:
          - name: pro
            when: 'plan == "pro"'
            serve: "on"
  banner:
    type: string
    variants: {a: "Hello", b: "Bonjour"}
    defaultVariant: a
    environments:
      production: {enabled: true, default: {split: {a: 50, b: 50}}}
  limit:
    type: number
    variants: {low: 10, high: 100}
    defaultVariant: low
    environments:
      production: {enabled: true}
`

func vecBundle(t *testing.T, env string, aud ir.Audience) *ir.Bundle {
	doc, ds := config.Parse([]config.File{{Name: "vectors.yaml", Data: []byte(vecConfig)}})
	if ds.HasErrors() {
		t.Fatal(ds.Errors())
	}
	b, ds := compile.Build(doc, env, aud)
	if ds.HasErrors() {
		t.Fatal(ds.Errors())
	}
	return b
}

var (
	vecIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vecExp = vecIat.Add(720 * time.Hour)
	vecNow = vecIat.Add(time.Hour)
)

func vecClaims(version uint64) envelope.Claims {
	return envelope.Claims{Version: version, IssuedAt: vecIat, ExpiresAt: vecExp}
}

// canonHeader is the protected header the publisher writes for these
// claims, for vectors that forge a header by hand.
func canonHeader(alg, kid, prj, env, aud string, ver uint64) string {
	h, _ := json.Marshal(map[string]any{"alg": alg, "aud": aud, "env": env, "exp": vecExp.Unix(), "fmt": 1,
		"iat": vecIat.Unix(), "kid": kid, "prj": prj, "typ": envelope.Type, "ver": ver})
	return string(h)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge signs a raw header and payload with Ed25519, as a key holder could.
func forge(hdr string, payload []byte, key ed25519.PrivateKey) string {
	input := b64([]byte(hdr)) + "." + b64(payload)
	return input + "." + b64(ed25519.Sign(key, []byte(input)))
}

// compressedPayload is the zstd frame inside a sealed envelope.
func compressedPayload(t *testing.T, sealed []byte) []byte {
	p := strings.Split(string(sealed), ".")
	out, err := base64.RawURLEncoding.DecodeString(p[1])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rleBomb hand-builds a zstd frame declaring fcs content bytes and holding
// a few RLE blocks (RFC 8878 §3.1.1).
func rleBomb(fcs uint64, blocks int) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	out = append(out, 3<<6|1<<5)
	out = binary.LittleEndian.AppendUint64(out, fcs)
	for i := 0; i < blocks; i++ {
		last := uint32(0)
		if i == blocks-1 {
			last = 1
		}
		h := last | 1<<1 | (128<<10)<<3
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 'A')
	}
	return out
}

// genVectors builds every vector from its intent. The expectation of each
// is written here by hand (which rule it breaks), never recorded from the
// verifier; TestEnvelopeNative then checks the verifier agrees.
func genVectors(t *testing.T) *EnvelopeSuite {
	edSigner, edPub := vecSigner(t, vecEdKey(7))
	ecSigner, ecPub := vecSigner(t, deterministic{vecECKey(t)})
	otherSigner, _ := vecSigner(t, vecEdKey(8))
	jwks := vecJWKS(t, edPub, ecPub)
	sealB := func(s seal.Signer, env string, aud ir.Audience, version uint64) string {
		b := vecBundle(t, env, aud)
		out, err := seal.SealBundle(b, vecClaims(version), s)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	sealRaw := func(payload []byte, c envelope.Claims) string {
		out, err := seal.Seal(payload, c, edSigner)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	server := sealB(edSigner, "production", ir.AudienceServer, 7)
	comp := compressedPayload(t, []byte(server))
	hdr := func(from, to string) string {
		h := canonHeader("EdDSA", edPub.ID, "shop", "production", "server", 7)
		if !strings.Contains(h, from) {
			t.Fatalf("header lacks %s", from)
		}
		return strings.Replace(h, from, to, 1)
	}
	edKey := vecEdKey(7)
	hs256 := func() string {
		h := hdr(`"alg":"EdDSA"`, `"alg":"HS256"`)
		input := b64([]byte(h)) + "." + b64(comp)
		m := hmac.New(sha256.New, edPub.Public)
		m.Write([]byte(input))
		return input + "." + b64(m.Sum(nil))
	}()
	flip := func(s string, part, i int) string {
		p := strings.Split(s, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(p[part])
		raw[i] ^= 1
		p[part] = b64(raw)
		return strings.Join(p, ".")
	}
	otherEnvIR, err := ir.Encode(vecBundle(t, "staging", ir.AudienceServer))
	if err != nil {
		t.Fatal(err)
	}
	tr := func(edit func(*VectorTrust)) VectorTrust {
		v := VectorTrust{JWKS: jwks, Project: "shop", Environment: "production", Audience: "server",
			Now: vecNow.Format(time.RFC3339)}
		if edit != nil {
			edit(&v)
		}
		return v
	}
	at := func(d time.Duration) string { return vecIat.Add(d).Format(time.RFC3339) }
	serverFlags := []string{"banner", "limit", "new-checkout"}
	claims := func(alg, kid, aud string, ver uint64) *VectorClaims {
		return &VectorClaims{Algorithm: alg, KeyID: kid, Project: "shop", Environment: "production", Audience: aud,
			Version: ver, IssuedAt: vecIat.Format(time.RFC3339), ExpiresAt: vecExp.Format(time.RFC3339)}
	}
	ok := func(c *VectorClaims, flags []string) VectorExpect { return VectorExpect{Claims: c, Flags: flags} }
	fail := func(name string) VectorExpect { return VectorExpect{Error: name} }
	accepted := ok(claims("EdDSA", edPub.ID, "server", 7), serverFlags)
	okJWK := vecJWKS(t, edPub)

	vs := []EnvelopeVector{
		{Name: "accept/eddsa-server", Why: "a bundle sealed by the publisher opens", Bundle: server, Trust: tr(nil), Expect: accepted},
		{Name: "accept/eddsa-client", Why: "client bundles hold only clientSide flags",
			Bundle: sealB(edSigner, "production", ir.AudienceClient, 7), Trust: tr(func(v *VectorTrust) { v.Audience = "client" }),
			Expect: ok(claims("EdDSA", edPub.ID, "client", 7), []string{"new-checkout"})},
		{Name: "accept/es256", Why: "ES256 (AWS KMS keys): r||s over SHA-256", Needs: "ES256",
			Bundle: sealB(ecSigner, "production", ir.AudienceServer, 7), Trust: tr(nil), Expect: ok(claims("ES256", ecPub.ID, "server", 7), serverFlags)},
		{Name: "accept/inside-grace", Why: "now < exp + grace", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Now, v.GraceSeconds = at(720*time.Hour+time.Hour), 7200 }), Expect: accepted},
		{Name: "accept/last-second", Why: "now = exp - 1s", Bundle: server, Trust: tr(func(v *VectorTrust) { v.Now = at(720*time.Hour - time.Second) }), Expect: accepted},
		{Name: "accept/within-skew", Why: "iat <= now + max skew", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Now, v.MaxSkewSeconds = at(-time.Minute), 60 }), Expect: accepted},
		{Name: "accept/same-version", Why: "an equal version re-opens (restart)", Bundle: server, Trust: tr(func(v *VectorTrust) { v.LastVersion = 7 }), Expect: accepted},
		{Name: "accept/only-eddsa-allowed", Why: "allow-list holds the bundle's alg", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Algorithms = []string{"EdDSA"} }), Expect: accepted},
		{Name: "accept/jwks-whitespace-and-minimal-members", Why: "JWKS alg and use are optional; whitespace is insignificant", Bundle: server,
			Trust: tr(func(v *VectorTrust) {
				v.JWKS = " {\n \"keys\" : [ {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"" + edPub.ID + "\",\"x\":\"" + b64(edPub.Public) + "\"} ] }\n"
			}), Expect: accepted},

		{Name: "reject/too-large-compressed", Why: "compressed payload over the limit", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.MaxCompressed = len(comp) - 1 }), Expect: fail("ErrTooLarge")},
		{Name: "reject/too-large-bomb", Why: "a frame declaring 1 GiB is refused before decompressing",
			Bundle: forge(hdr("", ""), rleBomb(1<<30, 4), edKey), Trust: tr(nil), Expect: fail("ErrTooLarge")},
		{Name: "reject/too-large-decompressed", Why: "declared content size over the decompressed limit", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.MaxDecompressed = 16 }), Expect: fail("ErrTooLarge")},
		{Name: "reject/malformed-trailing-newline", Why: "nothing but the base64url alphabet and two dots", Bundle: server + "\n", Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-four-parts", Why: "exactly three parts", Bundle: server + ".e30", Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-padded-base64", Why: "unpadded base64url only",
			Bundle: strings.Replace(server, ".", "==.", 1), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-nested-member", Why: "header values are scalars",
			Bundle: forge(hdr(`"fmt":1,`, `"fmt":1,"jwk":{"kty":"OKP"},`), comp, edKey), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-typ", Why: "typ is edgeflag-bundle+jws",
			Bundle: forge(hdr(`"typ":"edgeflag-bundle+jws"`, `"typ":"JWT"`), comp, edKey), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-version-float", Why: "integers are plain digits",
			Bundle: forge(hdr(`"ver":7`, `"ver":7.0`), comp, edKey), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-nul-after-header", Why: "nothing after the header object",
			Bundle: forge(hdr("}", "}\x00"), comp, edKey), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/malformed-not-zstd", Why: "the payload is one zstd frame",
			Bundle: forge(hdr("", ""), []byte("not a zstd frame"), edKey), Trust: tr(nil), Expect: fail("ErrMalformed")},
		{Name: "reject/duplicate-kid-escaped", Why: "member names compared after unescaping",
			Bundle: forge(hdr(`"kid":"`+edPub.ID+`"`, `"kid":"`+edPub.ID+`","k\u0069d":"`+edPub.ID+`"`), comp, edKey), Trust: tr(nil), Expect: fail("ErrDuplicateKey")},
		{Name: "reject/format-version-2", Why: "fmt is 1",
			Bundle: forge(hdr(`"fmt":1`, `"fmt":2`), comp, edKey), Trust: tr(nil), Expect: fail("ErrFormatVersion")},
		{Name: "reject/unknown-field-jku", Why: "exactly the ten members",
			Bundle: forge(hdr(`"fmt":1,`, `"fmt":1,"jku":"https://evil.example/jwks",`), comp, edKey), Trust: tr(nil), Expect: fail("ErrUnknownField")},
		{Name: "reject/alg-none", Why: "none is never accepted",
			Bundle: b64([]byte(hdr(`"alg":"EdDSA"`, `"alg":"none"`))) + "." + b64(comp) + ".", Trust: tr(nil), Expect: fail("ErrAlgorithm")},
		{Name: "reject/alg-hs256-public-key-as-secret", Why: "HMAC with the public key as secret", Bundle: hs256,
			Trust: tr(func(v *VectorTrust) { v.Algorithms = []string{"HS256", "EdDSA"} }), Expect: fail("ErrAlgorithm")},
		{Name: "reject/alg-not-allowed", Why: "the caller's allow-list", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Algorithms = []string{"ES256"} }), Expect: fail("ErrAlgorithm")},
		{Name: "reject/alg-key-mismatch", Why: "an EdDSA header naming a P-256 key's kid",
			Bundle: forge(hdr(`"kid":"`+edPub.ID+`"`, `"kid":"`+ecPub.ID+`"`), comp, edKey), Trust: tr(nil), Expect: fail("ErrAlgorithm")},
		{Name: "reject/unknown-key", Why: "kid not in the JWKS", Bundle: sealB(otherSigner, "production", ir.AudienceServer, 7),
			Trust: tr(nil), Expect: fail("ErrUnknownKey")},
		{Name: "reject/signature-payload-flipped", Why: "one payload bit changed", Bundle: flip(server, 1, 20), Trust: tr(nil), Expect: fail("ErrSignature")},
		{Name: "reject/signature-claim-changed", Why: "ver raised without re-signing",
			Bundle: b64([]byte(hdr(`"ver":7`, `"ver":8`))) + server[strings.Index(server, "."):], Trust: tr(nil), Expect: fail("ErrSignature")},
		{Name: "reject/signature-other-key-same-kid", Why: "the trusted kid, another key's signature",
			Bundle: forge(hdr("", ""), comp, vecEdKey(8)), Trust: tr(nil), Expect: fail("ErrSignature")},
		{Name: "reject/project", Why: "bundle for another project", Bundle: server, Trust: tr(func(v *VectorTrust) { v.Project = "blog" }), Expect: fail("ErrProject")},
		{Name: "reject/environment", Why: "bundle for another environment", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Environment = "staging" }), Expect: fail("ErrEnvironment")},
		{Name: "reject/audience", Why: "a server bundle where a client bundle is expected", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Audience = "client" }), Expect: fail("ErrAudience")},
		{Name: "reject/not-yet-valid", Why: "iat > now + max skew", Bundle: server, Trust: tr(func(v *VectorTrust) { v.Now = at(-time.Second) }), Expect: fail("ErrNotYetValid")},
		{Name: "reject/expired", Why: "now >= exp", Bundle: server, Trust: tr(func(v *VectorTrust) { v.Now = at(720 * time.Hour) }), Expect: fail("ErrExpired")},
		{Name: "reject/expired-beyond-grace", Why: "now >= exp + grace", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.Now, v.GraceSeconds = at(744*time.Hour), 86400 }), Expect: fail("ErrExpired")},
		{Name: "reject/rollback", Why: "ver < last version", Bundle: server, Trust: tr(func(v *VectorTrust) { v.LastVersion = 8 }), Expect: fail("ErrRollback")},
		{Name: "reject/payload-not-ir", Why: "a signed payload that is not an IR encoding",
			Bundle: sealRaw([]byte("not an IR encoding"), envelope.Claims{Project: "shop", Environment: "production", Audience: ir.AudienceServer,
				Version: 7, IssuedAt: vecIat, ExpiresAt: vecExp}), Trust: tr(nil), Expect: fail("ErrPayload")},
		{Name: "reject/payload-claims-mismatch", Why: "IR for staging signed with production claims",
			Bundle: sealRaw(otherEnvIR, envelope.Claims{Project: "shop", Environment: "production", Audience: ir.AudienceServer,
				Version: 7, IssuedAt: vecIat, ExpiresAt: vecExp}), Trust: tr(nil), Expect: fail("ErrPayload")},
		{Name: "reject/jwks-unknown-member", Why: "a JWK member outside the list", Bundle: server,
			Trust: tr(func(v *VectorTrust) {
				v.JWKS = strings.Replace(okJWK, `"use": "sig"`, `"use": "sig", "key_ops": "verify"`, 1)
			}), Expect: fail("ErrJWKS")},
		{Name: "reject/jwks-second-document", Why: "one JSON document only", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.JWKS = okJWK + okJWK }), Expect: fail("ErrJWKS")},
		{Name: "reject/jwks-private-key", Why: "a JWKS holds public keys only", Bundle: server,
			Trust: tr(func(v *VectorTrust) {
				v.JWKS = strings.Replace(okJWK, `"x":`, `"d": "`+b64(edKey.Seed())+`", "x":`, 1)
			}), Expect: fail("ErrJWKS")},
		{Name: "reject/jwks-kid-not-thumbprint", Why: "kid is the RFC 7638 thumbprint", Bundle: server,
			Trust: tr(func(v *VectorTrust) { v.JWKS = strings.Replace(okJWK, edPub.ID, "my-key", 1) }), Expect: fail("ErrJWKS")},
	}
	return &EnvelopeSuite{
		Description: "Envelope vectors: signed bundles, the trust to open each with, and the expected claims or rejection " +
			"(by sentinel name). Every verifier (native Go, the wasm module, the JS client) replays them; see README.md.",
		Vectors: vs,
	}
}

func marshalSuite(t *testing.T, s *EnvelopeSuite) []byte {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

// TestEnvelopeVectorsReproduce: the stored vectors are exactly what the
// generator builds (with -update, it rewrites them).
func TestEnvelopeVectorsReproduce(t *testing.T) {
	want := marshalSuite(t, genVectors(t))
	if *update {
		if err := os.MkdirAll(filepath.Dir(envelopeFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(envelopeFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(envelopeFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the generator's output; review, then go test ./bundle/conformance -update", envelopeFile)
	}
}

// TestEnvelopeNative replays the vectors on the Go verifier, as built with
// and without ES256.
func TestEnvelopeNative(t *testing.T) {
	s, err := LoadEnvelopeFile(envelopeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, noES256 := range []bool{false, true} {
		for _, f := range RunEnvelope(s, NativeOpener{NoES256: noES256}, !noES256) {
			t.Errorf("noES256=%v: %s", noES256, f.Error())
		}
	}
}

// TestEnvelopeCoverage: one vector at least per rejection sentinel, and
// accepted vectors for both audiences and both algorithms.
func TestEnvelopeCoverage(t *testing.T) {
	s, err := LoadEnvelopeFile(envelopeFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range s.Vectors {
		if v.Expect.Error != "" {
			seen[v.Expect.Error] = true
		} else {
			seen["alg:"+v.Expect.Claims.Algorithm] = true
			seen["aud:"+v.Expect.Claims.Audience] = true
		}
	}
	for _, name := range []string{"ErrTooLarge", "ErrMalformed", "ErrDuplicateKey", "ErrFormatVersion", "ErrUnknownField",
		"ErrAlgorithm", "ErrUnknownKey", "ErrSignature", "ErrProject", "ErrEnvironment", "ErrAudience", "ErrNotYetValid",
		"ErrExpired", "ErrRollback", "ErrPayload", "ErrJWKS", "alg:EdDSA", "alg:ES256", "aud:server", "aud:client"} {
		if !seen[name] {
			t.Errorf("no vector for %s", name)
		}
	}
}

// TestCheckOpenedCatchesMismatch: the runner fails a runtime that gives
// another sentinel, other claims or other flags.
func TestCheckOpenedCatchesMismatch(t *testing.T) {
	s, err := LoadEnvelopeFile(envelopeFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Vectors {
		v := &s.Vectors[i]
		good, err := NativeOpener{}.OpenVector(v)
		if err != nil {
			t.Fatal(err)
		}
		bad := good
		if good.Error != "" {
			bad.Error = "ErrMalformed"
			if good.Error == "ErrMalformed" {
				bad.Error = "ErrSignature"
			}
		} else {
			c := *good.Claims
			c.Version++
			bad.Claims = &c
		}
		if CheckOpened(v, bad, true) == nil {
			t.Errorf("%s: a wrong outcome passed", v.Name)
		}
	}
	if _, err := ParseEnvelope([]byte(`{"vectors":[{"name":"x","trust":{"audience":"server","now":"2026-01-01T00:00:00Z"},"expect":{"error":"ErrNope"}}]}`)); err == nil {
		t.Error("unknown sentinel name accepted")
	}
	if _, err := ParseEnvelope([]byte(`{"vectors":[],"extra":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
	var target error = envelope.ErrSignature
	if !errors.Is(envelope.ErrorByName("ErrSignature"), target) {
		t.Error("ErrorByName")
	}
}
