//go:build tinygocheck

package tinygocheck

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

const corpusDir = "../../bundle/conformance/testdata"

// TestGuest builds ./guest with TinyGo (with and without ES256) and with Go
// and checks each build.
func TestGuest(t *testing.T) {
	suites := loadCorpus(t)
	vectors, err := conformance.LoadEnvelopeFile(filepath.Join(corpusDir, "envelope", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vectors.Vectors) == 0 {
		t.Fatal("no envelope vectors")
	}
	signer := newSigner(t)
	for _, bd := range builds {
		t.Run(bd.name, func(t *testing.T) {
			g := newGuest(t, buildGuest(t, bd))
			t.Run("zstd", func(t *testing.T) { checkInflate(t, g, suites) })
			t.Run("verify", func(t *testing.T) { checkVerify(t, g, signer) })
			t.Run("vectors", func(t *testing.T) {
				for _, f := range conformance.RunEnvelope(vectors, guestOpener{g}, bd.es256) {
					t.Error(f)
				}
			})
			t.Run("corpus", func(t *testing.T) { checkCorpus(t, g, signer, suites) })
			t.Run("differential", func(t *testing.T) { checkDifferential(t, g, signer, suites) })
		})
	}
}

// BenchmarkGuest times guest calls under wazero, host JSON encoding
// excluded: one corpus case of operators.json (the mean over its cases),
// envelope.Open of that bundle sealed, and the inflate of the 3 MiB payload.
func BenchmarkGuest(b *testing.B) {
	suites := loadCorpus(b)
	var ops *conformance.Suite
	for _, s := range suites {
		if filepath.Base(s.Path) == "operators.json" {
			ops = s
		}
	}
	if ops == nil {
		b.Fatal("operators.json is not in the corpus")
	}
	signer := newSigner(b)
	sealedOps := signer.sealSuite(b, ops)
	payload := mixedPayload(3 << 20)
	big := compress(b, payload)
	for _, bd := range builds {
		b.Run(bd.name, func(b *testing.B) {
			g := newGuest(b, buildGuest(b, bd))
			if err := g.openSealed(signer, sealedOps); err != nil {
				b.Fatal(err)
			}
			reqs := make([][]byte, len(ops.Cases))
			for i := range ops.Cases {
				reqs[i] = request(b, ops, &ops.Cases[i])
			}
			b.Run("case", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if n := g.call("evaluate", g.put(reqs[i%len(reqs)])); n < 0 {
						b.Fatal(g.result(n))
					}
				}
			})
			b.Run("open", func(b *testing.B) {
				for b.Loop() {
					if err := g.openSealed(signer, sealedOps); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("inflate3MiB", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := g.inflate(big, len(payload)); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// build is one way of compiling the guest.
type build struct {
	name      string
	toolchain string // "tinygo" or "go"
	tags      string
	es256     bool // the verifier checks ES256 signatures
}

var builds = []build{
	{"tinygo", "tinygo", "", true},
	{"tinygo-noes256", "tinygo", "edgeflag_noes256", false},
	{"go", "go", "", true},
}

func loadCorpus(tb testing.TB) []*conformance.Suite {
	suites, err := conformance.LoadDir(corpusDir)
	if err != nil {
		tb.Fatal(err)
	}
	if len(suites) == 0 {
		tb.Fatalf("no suites in %s", corpusDir)
	}
	return suites
}

// buildGuest compiles ./guest with TinyGo ($TINYGO, $TINYGO_FLAGS from
// .ci/tinygo.sh) or with this test's Go toolchain for wasip1.
func buildGuest(tb testing.TB, bd build) []byte {
	out := filepath.Join(tb.TempDir(), bd.name+".wasm")
	var cmd *exec.Cmd
	switch bd.toolchain {
	case "tinygo":
		tinygo := os.Getenv("TINYGO")
		if tinygo == "" {
			tb.Fatal("TINYGO is not set: run `make tinygo-check` (it installs TinyGo with .ci/tinygo.sh)")
		}
		args := append([]string{"build"}, strings.Fields(os.Getenv("TINYGO_FLAGS"))...)
		cmd = exec.Command(tinygo, append(args, "-tags="+bd.tags, "-buildmode=c-shared", "-o", out, "./guest")...)
	case "go":
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
		cmd = exec.Command(goBin, "build", "-trimpath", "-tags="+bd.tags, "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, "./guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	default:
		tb.Fatalf("unknown toolchain %q", bd.toolchain)
	}
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s build in %v: %d bytes, %d gzip -9", bd.name, time.Since(start).Round(time.Millisecond), len(wasm), gzipLen(tb, wasm))
	return wasm
}

// checkInflate runs the klauspost zstd decoder alone in the guest: every
// corpus bundle and a multi-block payload must come back with the right
// digest and length, and damaged frames must be refused with an error, not
// a trap (a trap fails the test in guest.call).
func checkInflate(t *testing.T, g *guest, suites []*conformance.Suite) {
	for _, s := range suites {
		n, sum, err := g.inflate(compress(t, s.Bundle), len(s.Bundle))
		if err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		if n != len(s.Bundle) || hex.EncodeToString(sum) != s.BundleSHA256 {
			t.Errorf("%s: inflated to %d bytes sha256 %x, want %d bytes %s", s.Path, n, sum, len(s.Bundle), s.BundleSHA256)
		}
	}
	payload := mixedPayload(3 << 20)
	want := sha256.Sum256(payload)
	frame := compress(t, payload)
	t.Logf("multi-block payload: %d bytes, zstd frame %d bytes", len(payload), len(frame))
	start := time.Now()
	n, sum, err := g.inflate(frame, len(payload))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest inflate of %d bytes: %v", len(payload), time.Since(start).Round(time.Microsecond))
	if n != len(payload) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("inflated to %d bytes sha256 %x, want %d bytes %x", n, sum, len(payload), want)
	}
	flipped := bytes.Clone(frame)
	flipped[len(flipped)/2] ^= 0x55
	bad := []struct {
		name  string
		frame []byte
		limit int
	}{
		{"truncated", frame[:len(frame)-7], len(payload)},
		{"flipped byte", flipped, len(payload)},
		{"over the limit", frame, len(payload) - 1},
		{"not zstd", []byte("this is not a zstd frame at all"), len(payload)},
	}
	for _, c := range bad {
		if n, _, err := g.inflate(c.frame, c.limit); err == nil {
			t.Errorf("%s: inflated to %d bytes, want an error", c.name, n)
		}
	}
	// The guest still works after refusing them.
	if n, sum, err := g.inflate(frame, len(payload)); err != nil || n != len(payload) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("inflate after refusals: %d bytes %x, %v", n, sum, err)
	}
}

// checkVerify runs envelope.Verify in the guest on a sealed multi-block
// payload: intact, over the decompressed limit, and with a changed byte.
func checkVerify(t *testing.T, g *guest, sg *signer) {
	payload := mixedPayload(3 << 20)
	want := sha256.Sum256(payload)
	c := sg.claims()
	c.Project, c.Environment, c.Audience = "tinygocheck", "test", ir.AudienceServer
	out, err := seal.Seal(payload, c, sg.seal)
	if err != nil {
		t.Fatal(err)
	}
	bundle := string(out)
	vt := sg.trust(c.Project, c.Environment, "server")
	vt.MaxDecompressed = len(payload)
	start := time.Now()
	n, sum, err := g.verify(sg.jwks, bundle, vt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest verify of a %d-byte envelope (%d bytes decompressed): %v", len(bundle), len(payload),
		time.Since(start).Round(time.Microsecond))
	if n != len(payload) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("verified payload: %d bytes sha256 %x, want %d bytes %x", n, sum, len(payload), want)
	}
	small := vt
	small.MaxDecompressed = len(payload) - 1
	if _, _, err := g.verify(sg.jwks, bundle, small); err == nil || err.Error() != "guest: ErrTooLarge" {
		t.Errorf("limit one byte short: %v, want ErrTooLarge", err)
	}
	// A different base64url letter in the middle of the payload part.
	i := strings.Index(bundle, ".") + (strings.LastIndex(bundle, ".")-strings.Index(bundle, "."))/2
	changed := []byte(bundle)
	changed[i] = map[bool]byte{true: 'B', false: 'A'}[changed[i] == 'A']
	if _, _, err := g.verify(sg.jwks, string(changed), vt); err == nil || err.Error() != "guest: ErrSignature" {
		t.Errorf("changed payload byte: %v, want ErrSignature", err)
	}
}

// checkCorpus runs every case of the golden corpus on the guest, opening
// each suite's bundle sealed (envelope.Open: signature, zstd, decode,
// load), and checks that a raw load of the IR agrees on the flag count.
func checkCorpus(t *testing.T, g *guest, signer *signer, suites []*conformance.Suite) {
	ev := &guestEvaluator{t: t, g: g, signer: signer}
	start := time.Now()
	failures := conformance.Run(suites, ev)
	elapsed := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	total := 0
	for _, s := range suites {
		total += len(s.Cases)
	}
	if ev.calls != total {
		t.Errorf("evaluated %d cases, the corpus has %d", ev.calls, total)
	}
	t.Logf("%d cases of %d suites in %v", ev.calls, len(suites), elapsed.Round(time.Millisecond))
}

// checkDifferential evaluates every flag of each suite with every context of
// the suite's cases, in the guest and natively, and compares the results.
func checkDifferential(t *testing.T, g *guest, signer *signer, suites []*conformance.Suite) {
	var native conformance.Native
	compared := 0
	for _, s := range suites {
		if err := g.openSealed(signer, signer.sealSuite(t, s)); err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		for i := range s.Cases {
			c := conformance.Case{Name: s.Cases[i].Name + "/all", Kind: conformance.KindAll,
				Context: s.Cases[i].Context, Now: s.Cases[i].Now}
			want, err := native.Evaluate(s, &c)
			if err != nil {
				t.Fatalf("%s: %s: native: %v", s.Path, c.Name, err)
			}
			got, err := g.evaluate(s, &c)
			if err != nil {
				t.Fatalf("%s: %s: %v", s.Path, c.Name, err)
			}
			c.ExpectAll = want
			if err := conformance.Check(&c, got); err != nil {
				t.Errorf("%s: %s: %v", s.Path, c.Name, err)
			}
			compared += len(want)
		}
	}
	if compared == 0 {
		t.Fatal("no results compared")
	}
	t.Logf("%d flag results compared with the native engine", compared)
}

type guestEvaluator struct {
	t       testing.TB
	g       *guest
	signer  *signer
	current *conformance.Suite
	calls   int
}

// Evaluate implements conformance.Evaluator.
func (e *guestEvaluator) Evaluate(s *conformance.Suite, c *conformance.Case) ([]conformance.Result, error) {
	if e.current != s {
		raw, err := e.g.load(s.Bundle)
		if err != nil {
			return nil, err
		}
		b, err := ir.Decode(s.Bundle, ir.DefaultLimits())
		if err != nil {
			return nil, err
		}
		if raw != len(b.Flags) || raw == 0 {
			return nil, fmt.Errorf("raw load gave %d flags, the bundle has %d", raw, len(b.Flags))
		}
		if err := e.g.openSealed(e.signer, e.signer.sealSuite(e.t, s)); err != nil {
			return nil, err
		}
		e.current = s
	}
	e.calls++
	return e.g.evaluate(s, c)
}

// guest is one instance of the proof module under wazero.
type guest struct {
	tb  testing.TB
	ctx context.Context
	mod api.Module
}

func newGuest(t testing.TB, wasm []byte) *guest {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	for _, name := range []string{"input", "output_ptr", "output_len", "inflate", "load", "evaluate"} {
		if mod.ExportedFunction(name) == nil {
			t.Fatalf("the guest does not export %s", name)
		}
	}
	return &guest{tb: t, ctx: ctx, mod: mod}
}

func (g *guest) call(name string, args ...uint64) int32 {
	g.tb.Helper()
	res, err := g.mod.ExportedFunction(name).Call(g.ctx, args...)
	if err != nil {
		g.tb.Fatalf("%s: the guest trapped: %v", name, err)
	}
	if len(res) == 0 {
		return 0
	}
	return int32(uint32(res[0]))
}

// put copies data into the guest's input buffer and returns its length.
func (g *guest) put(data []byte) uint64 {
	g.tb.Helper()
	p := g.call("input", uint64(len(data)))
	if len(data) > 0 && !g.mod.Memory().Write(uint32(p), data) {
		g.tb.Fatalf("write %d bytes at %#x: out of range", len(data), p)
	}
	return uint64(len(data))
}

// result returns the call's result, or the guest's error text when it is -1.
func (g *guest) result(n int32) ([]byte, error) {
	g.tb.Helper()
	p, l := g.call("output_ptr"), g.call("output_len")
	out, ok := g.mod.Memory().Read(uint32(p), uint32(l))
	if !ok {
		g.tb.Fatalf("read %d bytes at %#x: out of range", l, p)
	}
	out = bytes.Clone(out)
	if n < 0 {
		return nil, fmt.Errorf("guest: %s", out)
	}
	return out, nil
}

func (g *guest) inflate(frame []byte, limit int) (int, []byte, error) {
	n := g.call("inflate", g.put(frame), uint64(limit))
	sum, err := g.result(n)
	return int(n), sum, err
}

func (g *guest) load(data []byte) (int, error) {
	n := g.call("load", g.put(data))
	_, err := g.result(n)
	return int(n), err
}

// envelopeRequest frames the JWKS, the bundle and the trust for open and
// verify (see the guest's ABI).
func envelopeRequest(tb testing.TB, jwks, bundle string, vt conformance.VectorTrust) []byte {
	tb.Helper()
	trust := map[string]any{"project": vt.Project, "environment": vt.Environment, "audience": vt.Audience,
		"now": vt.Now, "graceSeconds": vt.GraceSeconds, "maxSkewSeconds": vt.MaxSkewSeconds,
		"lastVersion": fmt.Sprint(vt.LastVersion), "maxCompressed": vt.MaxCompressed, "maxDecompressed": vt.MaxDecompressed}
	if vt.Algorithms != nil {
		trust["algorithms"] = vt.Algorithms
	}
	tj, err := json.Marshal(trust)
	if err != nil {
		tb.Fatal(err)
	}
	req := binary.LittleEndian.AppendUint32(nil, uint32(len(jwks)))
	req = append(req, jwks...)
	req = binary.LittleEndian.AppendUint32(req, uint32(len(bundle)))
	req = append(req, bundle...)
	return append(req, tj...)
}

// open runs envelope.Open in the guest; on success the bundle becomes the
// guest's engine.
func (g *guest) open(jwks, bundle string, vt conformance.VectorTrust) (conformance.Opened, error) {
	n := g.call("open", g.put(envelopeRequest(g.tb, jwks, bundle, vt)))
	out, err := g.result(n)
	if err != nil {
		return conformance.Opened{}, err
	}
	var o struct {
		Error  string                    `json:"error"`
		Claims *conformance.VectorClaims `json:"claims"`
		Flags  []string                  `json:"flags"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return conformance.Opened{}, fmt.Errorf("decode guest outcome %q: %w", out, err)
	}
	return conformance.Opened{Error: o.Error, Claims: o.Claims, Flags: o.Flags}, nil
}

// openSealed opens a bundle sealed by sg and checks that it opened.
func (g *guest) openSealed(sg *signer, b sealed) error {
	o, err := g.open(sg.jwks, b.bundle, b.trust)
	if err != nil {
		return err
	}
	if o.Error != "" || o.Claims == nil || o.Claims.Version != 1 || o.Claims.Project != b.trust.Project {
		return fmt.Errorf("open sealed bundle: %+v", o)
	}
	return nil
}

// verify runs envelope.Verify in the guest: the payload's length and
// SHA-256, or the rejection's sentinel name as the error.
func (g *guest) verify(jwks, bundle string, vt conformance.VectorTrust) (int, []byte, error) {
	n := g.call("verify", g.put(envelopeRequest(g.tb, jwks, bundle, vt)))
	sum, err := g.result(n)
	return int(n), sum, err
}

type guestOpener struct{ g *guest }

// OpenVector implements conformance.Opener.
func (o guestOpener) OpenVector(v *conformance.EnvelopeVector) (conformance.Opened, error) {
	return o.g.open(v.Trust.JWKS, v.Bundle, v.Trust)
}

// signer seals test bundles with a fixed Ed25519 key.
type signer struct {
	seal seal.Signer
	jwks string
	iat  time.Time
}

func newSigner(tb testing.TB) *signer {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		tb.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		tb.Fatal(err)
	}
	return &signer{seal: seal.Signer{KeyID: pub.ID, Key: priv}, jwks: string(jwks),
		iat: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (sg *signer) claims() envelope.Claims {
	return envelope.Claims{Version: 1, IssuedAt: sg.iat, ExpiresAt: sg.iat.Add(24 * time.Hour)}
}

// sealed is a bundle sealed by signer and the trust that opens it.
type sealed struct {
	bundle string
	trust  conformance.VectorTrust
}

// sealSuite seals the suite's bundle (version 1, valid for a day).
func (sg *signer) sealSuite(tb testing.TB, s *conformance.Suite) sealed {
	tb.Helper()
	b, err := ir.Decode(s.Bundle, ir.DefaultLimits())
	if err != nil {
		tb.Fatalf("%s: %v", s.Path, err)
	}
	out, err := seal.SealBundle(b, sg.claims(), sg.seal)
	if err != nil {
		tb.Fatalf("%s: %v", s.Path, err)
	}
	return sealed{string(out), sg.trust(b.Project, b.Environment, b.Audience.String())}
}

// trust is the verifier input for a bundle sealed by sg, an hour after it
// was issued.
func (sg *signer) trust(project, environment, audience string) conformance.VectorTrust {
	return conformance.VectorTrust{Project: project, Environment: environment, Audience: audience,
		Now: sg.iat.Add(time.Hour).Format(time.RFC3339)}
}

func (g *guest) evaluate(s *conformance.Suite, c *conformance.Case) ([]conformance.Result, error) {
	n := g.call("evaluate", g.put(request(g.tb, s, c)))
	out, err := g.result(n)
	if err != nil {
		return nil, err
	}
	var rs []conformance.Result
	if err := json.Unmarshal(out, &rs); err != nil {
		return nil, fmt.Errorf("decode guest results %q: %w", out, err)
	}
	if len(rs) != int(n) {
		return nil, fmt.Errorf("guest returned %d results and said %d", len(rs), n)
	}
	return rs, nil
}

// request is the guest's evaluate request for case c of s.
func request(tb testing.TB, s *conformance.Suite, c *conformance.Case) []byte {
	tb.Helper()
	now, err := c.Time(s)
	if err != nil {
		tb.Fatalf("%s: %s: %v", s.Path, c.Name, err)
	}
	ctx := c.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	req, err := json.Marshal(map[string]any{"flag": c.Flag, "type": c.Type, "all": c.Kind == conformance.KindAll,
		"now": now.Format(time.RFC3339Nano), "context": ctx})
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// compress makes one zstd frame with the envelope's encoder settings: one
// frame with its content size and a checksum.
func compress(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		zstd.WithSingleSegment(true))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// mixedPayload is n deterministic bytes that give every kind of zstd block:
// repetitive text (compressed blocks with matches and repeat offsets),
// random bytes (raw blocks) and long runs of one byte (RLE blocks).
func mixedPayload(n int) []byte {
	rng := rand.New(rand.NewPCG(12, 34))
	words := []string{"flag", "variant", "rule", "segment", "targetingKey", "rollout", "\"on\"", "{}", "0.25"}
	b := make([]byte, 0, n)
	for len(b) < n {
		switch rng.IntN(3) {
		case 0:
			for range 2000 {
				b = append(b, words[rng.IntN(len(words))]...)
				b = append(b, ' ')
			}
		case 1:
			for range 40_000 {
				b = append(b, byte(rng.Uint32()))
			}
		default:
			b = append(b, bytes.Repeat([]byte{byte(rng.Uint32())}, 150_000)...)
		}
	}
	return b[:n]
}

func gzipLen(t testing.TB, data []byte) int {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
