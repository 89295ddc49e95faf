package envelope

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testKid = "test-key-1"

// testKey is a fixed Ed25519 key, so that sealed envelopes are byte-stable.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

var testIat = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testClaims() Claims {
	return Claims{
		Project: "shop", Environment: "production", Audience: ir.AudienceServer,
		Version: 7, IssuedAt: testIat, ExpiresAt: testIat.Add(720 * time.Hour),
	}
}

func testTrust() Trust {
	return Trust{
		Keys:    []Key{edKey(testKid, testKey())},
		Project: "shop", Environment: "production", Audience: ir.AudienceServer,
		Now: testIat.Add(time.Hour),
	}
}

var testPayload = []byte(strings.Repeat("edgeflag payload bytes; ", 40))

func sealTest(t testing.TB) []byte {
	t.Helper()
	return testSeal(t, testPayload, testClaims())
}

func splitParts(t testing.TB, data []byte) (hdr map[string]any, payload, sig []byte) {
	t.Helper()
	p := strings.Split(string(data), ".")
	if len(p) != 3 {
		t.Fatalf("%d parts", len(p))
	}
	h, err := b64().DecodeString(p[0])
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if err := dec.Decode(&hdr); err != nil {
		t.Fatal(err)
	}
	if payload, err = b64().DecodeString(p[1]); err != nil {
		t.Fatal(err)
	}
	if sig, err = b64().DecodeString(p[2]); err != nil {
		t.Fatal(err)
	}
	return hdr, payload, sig
}

func compressedTest(t testing.TB) []byte {
	t.Helper()
	return testCompress(t, testPayload)
}

const canonHdr = `{"alg":"EdDSA","aud":"server","env":"production","exp":1769817600,"fmt":1,"iat":1767225600,"kid":"test-key-1","prj":"shop","typ":"edgeflag-bundle+jws","ver":7}`

func TestRoundTrip(t *testing.T) {
	data := sealTest(t)
	v, err := Verify(data, testTrust())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Payload, testPayload) {
		t.Fatalf("payload differs")
	}
	want := testClaims()
	want.Format, want.Algorithm, want.KeyID = FormatVersion, AlgEdDSA, testKid
	if v.Claims != want {
		t.Fatalf("claims %+v, want %+v", v.Claims, want)
	}
	// The header is exactly the documented canonical form.
	h, _ := b64().DecodeString(strings.Split(string(data), ".")[0])
	if string(h) != canonHdr {
		t.Fatalf("header %s\nwant   %s", h, canonHdr)
	}
}

// TestGoldenExample keeps the worked example of docs/bundle-format.md.
func TestGoldenExample(t *testing.T) {
	data := sealTest(t)
	path := filepath.Join("testdata", "example.jws")
	if *update {
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(data)+"\n" {
		t.Fatalf("sealed example differs from %s (run go test -update and review the diff)", path)
	}
}

func TestES256(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hdr := canonHeader(testClaims(), AlgES256, "ec")
	a := forgeES256(t, hdr, compressedTest(t), key)
	tr := testTrust()
	tr.Keys = []Key{ecKey(t, "ec", key)}
	v, err := Verify(a, tr)
	if err != nil {
		t.Fatal(err)
	}
	if v.Claims.Algorithm != AlgES256 || !bytes.Equal(v.Payload, testPayload) {
		t.Fatalf("claims %+v", v.Claims)
	}
	if _, err := joseVerify(a, &key.PublicKey, AlgES256); err != nil {
		t.Fatalf("go-jose rejects the ES256 envelope: %v", err)
	}
	// A signature by another P-256 key fails.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Verify(forgeES256(t, hdr, compressedTest(t), other), tr); !errors.Is(err, ErrSignature) {
		t.Fatalf("other key: got %v, want ErrSignature", err)
	}
	// The Ed25519 key cannot verify an ES256 bundle under the same kid.
	tr.Keys = []Key{edKey("ec", testKey())}
	if _, err := Verify(a, tr); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("got %v, want ErrAlgorithm", err)
	}
	// A key whose point is off the curve is refused before any signature.
	bad := ecKey(t, "ec", key)
	bad.Public[64] ^= 1
	tr.Keys = []Key{bad}
	if _, err := Verify(a, tr); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("off-curve key: got %v, want ErrAlgorithm", err)
	}
}

// rlePayload hand-builds a zstd frame declaring fcs bytes of content and
// holding blocks RLE blocks of 128 KiB each (RFC 8878 §3.1.1): a few bytes
// that expand to blocks*128 KiB.
func rlePayload(fcs uint64, blocks int) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	// Frame header descriptor: FCS field 8 bytes (flag 3), single segment.
	out = append(out, 3<<6|1<<5)
	out = binary.LittleEndian.AppendUint64(out, fcs)
	for i := 0; i < blocks; i++ {
		last := uint32(0)
		if i == blocks-1 {
			last = 1
		}
		h := last | 1<<1 | (128<<10)<<3 // RLE block of 128 KiB
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 'A')
	}
	return out
}

func signedRaw(t testing.TB, compressed []byte) []byte {
	t.Helper()
	return forge(canonHdr, compressed, testKey())
}

func reencodeHeader(t *testing.T, data []byte, edit func(map[string]any)) []byte {
	hdr, _, _ := splitParts(t, data)
	edit(hdr)
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.SplitN(string(data), ".", 2)
	return []byte(b64().EncodeToString(h) + "." + p[1])
}

func TestReject(t *testing.T) {
	good := sealTest(t)
	comp := compressedTest(t)
	key := testKey()
	hdrWith := func(from, to string) string {
		if !strings.Contains(canonHdr, from) {
			t.Fatalf("canonical header lacks %s", from)
		}
		return strings.Replace(canonHdr, from, to, 1)
	}
	parts := strings.Split(string(good), ".")
	tamper := func(part, i int) []byte {
		p := append([]string{}, parts...)
		raw, _ := b64().DecodeString(p[part])
		raw[i] ^= 0x01
		p[part] = b64().EncodeToString(raw)
		return []byte(strings.Join(p, "."))
	}
	hs256 := func() []byte {
		h := hdrWith(`"alg":"EdDSA"`, `"alg":"HS256"`)
		input := b64().EncodeToString([]byte(h)) + "." + b64().EncodeToString(comp)
		m := hmac.New(sha256.New, key.Public().(ed25519.PublicKey))
		m.Write([]byte(input))
		return []byte(input + "." + b64().EncodeToString(m.Sum(nil)))
	}()
	cases := []struct {
		name  string
		data  []byte
		trust func(*Trust)
		want  error
	}{
		{"header claim changed", reencodeHeader(t, good, func(h map[string]any) { h["ver"] = 8 }), nil, ErrSignature},
		{"header kid changed to another trusted key", reencodeHeader(t, good, func(h map[string]any) { h["kid"] = "other" }),
			func(tr *Trust) {
				tr.Keys = append(tr.Keys, edKey("other", ed25519.NewKeyFromSeed(make([]byte, 32))))
			}, ErrSignature},
		{"payload byte flipped", tamper(1, 20), nil, ErrSignature},
		{"signature byte flipped", tamper(2, 10), nil, ErrSignature},
		{"unknown kid", good, func(tr *Trust) { tr.Keys[0].ID = "rotated-away" }, ErrUnknownKey},
		{"no keys", good, func(tr *Trust) { tr.Keys = nil }, ErrUnknownKey},
		{"alg none", []byte(b64().EncodeToString([]byte(hdrWith(`"alg":"EdDSA"`, `"alg":"none"`))) + "." + b64().EncodeToString(comp) + "."), nil, ErrAlgorithm},
		{"HS256 with public key as secret", hs256, nil, ErrAlgorithm},
		{"HS256 even if allowed by caller", hs256, func(tr *Trust) { tr.Algorithms = []string{"HS256", AlgEdDSA} }, ErrAlgorithm},
		{"alg not in allow-list", good, func(tr *Trust) { tr.Algorithms = []string{AlgES256} }, ErrAlgorithm},
		{"key pinned to another alg", good, func(tr *Trust) { tr.Keys[0].Algorithm = AlgES256 }, ErrAlgorithm},
		{"other project", good, func(tr *Trust) { tr.Project = "blog" }, ErrProject},
		{"other environment", good, func(tr *Trust) { tr.Environment = "staging" }, ErrEnvironment},
		{"other audience", good, func(tr *Trust) { tr.Audience = ir.AudienceClient }, ErrAudience},
		{"expired", good, func(tr *Trust) { tr.Now = testClaims().ExpiresAt }, ErrExpired},
		{"expired beyond grace", good, func(tr *Trust) {
			tr.Now, tr.Grace = testClaims().ExpiresAt.Add(24*time.Hour), 24*time.Hour
		}, ErrExpired},
		{"not yet valid", good, func(tr *Trust) { tr.Now = testIat.Add(-time.Second) }, ErrNotYetValid},
		{"not yet valid beyond skew", good, func(tr *Trust) { tr.Now, tr.MaxSkew = testIat.Add(-time.Minute), 59*time.Second }, ErrNotYetValid},
		{"lower version", good, func(tr *Trust) { tr.LastVersion = 8 }, ErrRollback},
		{"decompression bomb declaring 1 GiB", signedRaw(t, rlePayload(1<<30, 8192)), nil, ErrTooLarge},
		{"bomb over the limit", signedRaw(t, rlePayload(4<<20, 32)), func(tr *Trust) { tr.MaxDecompressed = 1 << 20 }, ErrTooLarge},
		{"compressed payload over limit", good, func(tr *Trust) { tr.MaxCompressed = len(comp) - 1 }, ErrTooLarge},
		{"envelope over limit", append(bytes.Repeat([]byte("A"), 12<<20), good...), nil, ErrTooLarge},
		{"payload not zstd", signedRaw(t, []byte("not a zstd frame at all")), nil, ErrMalformed},
		{"zstd without content size", signedRaw(t, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x01, 0x00, 0x00}), nil, ErrMalformed},
		{"empty", nil, nil, ErrMalformed},
		{"truncated in header", good[:10], nil, ErrMalformed},
		{"truncated after header", good[:len(parts[0])+1], nil, ErrMalformed},
		{"truncated in payload", good[:len(parts[0])+1+len(parts[1])/2], nil, ErrMalformed},
		{"truncated signature (empty)", good[:len(good)-len(parts[2])], nil, ErrMalformed},
		{"truncated by 1", good[:len(good)-1], nil, ErrMalformed},
		{"truncated by 10", good[:len(good)-10], nil, ErrMalformed},
		{"trailing garbage", append(append([]byte{}, good...), "AAAA"...), nil, ErrMalformed},
		{"trailing newline", append(append([]byte{}, good...), '\n'), nil, ErrMalformed},
		{"extra part", append(append([]byte{}, good...), ".e30"...), nil, ErrMalformed},
		{"padded base64", []byte(parts[0] + "==." + parts[1] + "." + parts[2]), nil, ErrMalformed},
		{"duplicate kid", forge(hdrWith(`"kid":"test-key-1"`, `"kid":"evil","kid":"test-key-1"`), comp, key), nil, ErrDuplicateKey},
		{"duplicate kid via escape", forge(hdrWith(`"kid":"test-key-1"`, `"kid":"test-key-1","k\u0069d":"test-key-1"`), comp, key), nil, ErrDuplicateKey},
		{"unknown field jku", forge(hdrWith(`"fmt":1,`, `"fmt":1,"jku":"https://evil.example/jwks",`), comp, key), nil, ErrUnknownField},
		{"unknown field crit", forge(hdrWith(`"fmt":1,`, `"fmt":1,"crit":"b64",`), comp, key), nil, ErrUnknownField},
		{"nested field jwk", forge(hdrWith(`"fmt":1,`, `"fmt":1,"jwk":{"kty":"OKP"},`), comp, key), nil, ErrMalformed},
		{"format version 2", forge(hdrWith(`"fmt":1`, `"fmt":2`), comp, key), nil, ErrFormatVersion},
		{"format version missing", forge(hdrWith(`"fmt":1,`, ``), comp, key), nil, ErrMalformed},
		{"wrong typ", forge(hdrWith(`"typ":"edgeflag-bundle+jws"`, `"typ":"JWT"`), comp, key), nil, ErrMalformed},
		{"claim missing", forge(hdrWith(`"env":"production",`, ``), comp, key), nil, ErrMalformed},
		{"version as string", forge(hdrWith(`"ver":7`, `"ver":"7"`), comp, key), nil, ErrMalformed},
		{"version as float", forge(hdrWith(`"ver":7`, `"ver":7.0`), comp, key), nil, ErrMalformed},
		{"version too large", forge(hdrWith(`"ver":7`, `"ver":9007199254740992`), comp, key), nil, ErrMalformed},
		{"exp before iat", forge(hdrWith(`"exp":1769817600`, `"exp":1767225600`), comp, key), nil, ErrMalformed},
		{"header not an object", forge(`[1]`, comp, key), nil, ErrMalformed},
		{"header trailing data", forge(canonHdr+`{}`, comp, key), nil, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTrust()
			if tc.trust != nil {
				tc.trust(&tr)
			}
			v, err := Verify(tc.data, tr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (verified %v), want %v", err, v != nil, tc.want)
			}
			for _, other := range allErrors {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("%v also matches %v", err, other)
				}
			}
		})
	}
}

var allErrors = []error{ErrMalformed, ErrDuplicateKey, ErrUnknownField, ErrFormatVersion, ErrAlgorithm,
	ErrUnknownKey, ErrSignature, ErrProject, ErrEnvironment, ErrAudience, ErrExpired, ErrNotYetValid,
	ErrRollback, ErrTooLarge, ErrPayload, ErrJWKS}

func TestAccept(t *testing.T) {
	good := sealTest(t)
	exp := testClaims().ExpiresAt
	cases := map[string]func(*Trust){
		"inside grace":          func(tr *Trust) { tr.Now, tr.Grace = exp.Add(time.Hour), 2*time.Hour },
		"last second":           func(tr *Trust) { tr.Now = exp.Add(-time.Second) },
		"issued now":            func(tr *Trust) { tr.Now = testIat },
		"iat within skew":       func(tr *Trust) { tr.Now, tr.MaxSkew = testIat.Add(-time.Minute), time.Minute },
		"same version reopened": func(tr *Trust) { tr.LastVersion = 7 },
		"newer version":         func(tr *Trust) { tr.LastVersion = 6 },
		"only EdDSA allowed":    func(tr *Trust) { tr.Algorithms = []string{AlgEdDSA} },
		"exact size limits": func(tr *Trust) {
			tr.MaxCompressed, tr.MaxDecompressed = len(compressedTest(t)), len(testPayload)
		},
	}
	for name, edit := range cases {
		tr := testTrust()
		edit(&tr)
		if _, err := Verify(good, tr); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRollbackError(t *testing.T) {
	tr := testTrust()
	tr.LastVersion = 9
	_, err := Verify(sealTest(t), tr)
	var rb *RollbackError
	if !errors.As(err, &rb) || rb.Got != 7 || rb.Last != 9 {
		t.Fatalf("got %v", err)
	}
}

// TestCompactClass: split's byte table is exactly the base64url
// alphabet plus the separator.
func TestCompactClass(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for c := 0; c < 256; c++ {
		want := byte('x')
		switch {
		case strings.IndexByte(alphabet, byte(c)) >= 0:
			want = 'a'
		case c == '.':
			want = '.'
		}
		if compactClass[c] != want {
			t.Errorf("byte %#x: class %q, want %q", c, compactClass[c], want)
		}
	}
}

// TestEverySingleByteChange: no single-character change of an envelope is
// accepted.
func TestEverySingleByteChange(t *testing.T) {
	good := sealTest(t)
	tr := testTrust()
	for i := range good {
		m := append([]byte{}, good...)
		if m[i] == 'A' {
			m[i] = 'B'
		} else {
			m[i] = 'A'
		}
		if _, err := Verify(m, tr); err == nil {
			t.Fatalf("changing byte %d (%q) was accepted", i, good[i])
		}
	}
}

// TestBombAllocations: a bundle declaring 1 GiB decompressed is refused
// without allocating anything like it.
func TestBombAllocations(t *testing.T) {
	data := signedRaw(t, rlePayload(1<<30, 8192))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Verify(data, testTrust())
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Fatalf("allocated %d bytes refusing a bomb", d)
	}
	// A frame lying about its size is stopped at the limit as well.
	lying := signedRaw(t, rlePayload(100, 64))
	tr := testTrust()
	tr.MaxDecompressed = 1 << 20
	runtime.ReadMemStats(&before)
	_, err = Verify(lying, tr)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("allocated %d bytes refusing a lying frame", d)
	}
}

func TestTrustRequired(t *testing.T) {
	good := sealTest(t)
	for name, edit := range map[string]func(*Trust){
		"no clock":    func(tr *Trust) { tr.Now = time.Time{} },
		"no project":  func(tr *Trust) { tr.Project = "" },
		"no audience": func(tr *Trust) { tr.Audience = 0 },
	} {
		tr := testTrust()
		edit(&tr)
		_, err := Verify(good, tr)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		for _, s := range allErrors {
			if errors.Is(err, s) {
				t.Fatalf("%s: a caller mistake reported as %v", name, s)
			}
		}
	}
}

// joseVerify checks an envelope with go-jose, the differential reference
// for the standard-library verifier.
func joseVerify(data []byte, pub any, alg string) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(string(data), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		return nil, err
	}
	return obj.Verify(pub)
}

func TestGoJoseAgrees(t *testing.T) {
	good := sealTest(t)
	p, err := joseVerify(good, testKey().Public(), AlgEdDSA)
	if err != nil || !bytes.Equal(p, compressedTest(t)) {
		t.Fatalf("go-jose rejects a sealed envelope: %v", err)
	}
	// And both reject a tampered signature.
	bad := append([]byte{}, good...)
	bad[len(bad)-20] ^= 1
	if _, err := joseVerify(bad, testKey().Public(), AlgEdDSA); err == nil {
		t.Fatal("go-jose accepts a tampered envelope")
	}
	if _, err := Verify(bad, testTrust()); err == nil {
		t.Fatal("Verify accepts a tampered envelope")
	}
}
