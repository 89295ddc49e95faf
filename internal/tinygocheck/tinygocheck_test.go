//go:build tinygocheck

package tinygocheck

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
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
)

const corpusDir = "../../bundle/conformance/testdata"

// TestGuest builds ./guest with TinyGo and with Go and checks each build.
func TestGuest(t *testing.T) {
	suites := loadCorpus(t)
	for _, name := range builds {
		t.Run(name, func(t *testing.T) {
			g := newGuest(t, buildGuest(t, name))
			t.Run("zstd", func(t *testing.T) { checkInflate(t, g, suites) })
			t.Run("corpus", func(t *testing.T) { checkCorpus(t, g, suites) })
			t.Run("differential", func(t *testing.T) { checkDifferential(t, g, suites) })
		})
	}
}

// BenchmarkGuest times guest calls under wazero, host JSON encoding
// excluded: one corpus case of operators.json (the mean over its cases), a
// zstd load of that bundle, and the inflate of the 3 MiB payload.
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
	frame := compress(b, ops.Bundle)
	payload := mixedPayload(3 << 20)
	big := compress(b, payload)
	for _, name := range builds {
		b.Run(name, func(b *testing.B) {
			g := newGuest(b, buildGuest(b, name))
			if _, err := g.load(frame, true); err != nil {
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
			b.Run("load", func(b *testing.B) {
				for b.Loop() {
					if _, err := g.load(frame, true); err != nil {
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

// builds are the toolchains the guest is built with.
var builds = []string{"tinygo", "go"}

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
func buildGuest(tb testing.TB, toolchain string) []byte {
	out := filepath.Join(tb.TempDir(), toolchain+".wasm")
	var cmd *exec.Cmd
	switch toolchain {
	case "tinygo":
		tinygo := os.Getenv("TINYGO")
		if tinygo == "" {
			tb.Fatal("TINYGO is not set: run `make tinygo-check` (it installs TinyGo with .ci/tinygo.sh)")
		}
		args := append([]string{"build"}, strings.Fields(os.Getenv("TINYGO_FLAGS"))...)
		cmd = exec.Command(tinygo, append(args, "-buildmode=c-shared", "-o", out, "./guest")...)
	case "go":
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
		cmd = exec.Command(goBin, "build", "-trimpath", "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, "./guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	default:
		tb.Fatalf("unknown toolchain %q", toolchain)
	}
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s build in %v: %d bytes, %d gzip -9", toolchain, time.Since(start).Round(time.Millisecond), len(wasm), gzipLen(tb, wasm))
	return wasm
}

// checkInflate decodes zstd frames in the guest: every corpus bundle and a
// multi-block payload must come back with the right digest and length, and
// damaged frames must be refused with an error, not a trap.
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
		{"empty", nil, len(payload)},
	}
	for _, c := range bad {
		// A trap fails the test inside g.call.
		if n, _, err := g.inflate(c.frame, c.limit); err == nil {
			t.Errorf("%s: inflated to %d bytes, want an error", c.name, n)
		}
	}
	// The guest still works after refusing them.
	if n, sum, err := g.inflate(frame, len(payload)); err != nil || n != len(payload) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("inflate after refusals: %d bytes %x, %v", n, sum, err)
	}
}

// checkCorpus runs every case of the golden corpus on the guest, loading
// each suite's bundle through zstd, and checks the raw load agrees.
func checkCorpus(t *testing.T, g *guest, suites []*conformance.Suite) {
	ev := &guestEvaluator{t: t, g: g}
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
func checkDifferential(t *testing.T, g *guest, suites []*conformance.Suite) {
	var native conformance.Native
	compared := 0
	for _, s := range suites {
		if _, err := g.load(compress(t, s.Bundle), true); err != nil {
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
	current *conformance.Suite
	calls   int
}

// Evaluate implements conformance.Evaluator.
func (e *guestEvaluator) Evaluate(s *conformance.Suite, c *conformance.Case) ([]conformance.Result, error) {
	if e.current != s {
		raw, err := e.g.load(s.Bundle, false)
		if err != nil {
			return nil, err
		}
		flags, err := e.g.load(compress(e.t, s.Bundle), true)
		if err != nil {
			return nil, err
		}
		if raw != flags || flags == 0 {
			return nil, fmt.Errorf("raw load gave %d flags, zstd load %d", raw, flags)
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

func (g *guest) load(data []byte, compressed bool) (int, error) {
	z := uint64(0)
	if compressed {
		z = 1
	}
	n := g.call("load", g.put(data), z)
	_, err := g.result(n)
	return int(n), err
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
