package host

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// rawCall calls an export directly and returns its i32 result and the
// result bytes (error objects decoded into name). It fails the test if the
// call traps.
func rawCall(t testing.TB, in *instance, fn api.Function, args ...uint64) (n int32, out []byte, name string) {
	t.Helper()
	ctx := context.Background()
	res, err := fn.Call(ctx, args...)
	if err != nil {
		t.Fatalf("%s%v trapped: %v (stderr %s)", fn.Definition().Name(), args, err, in.stderr.String())
	}
	n = int32(res[0])
	b, ferr := in.finish(ctx, fn.Definition().Name(), n)
	if e, ok := ferr.(*Error); ok {
		return n, nil, e.Name
	}
	if ferr != nil {
		t.Fatalf("%s: %v", fn.Definition().Name(), ferr)
	}
	return n, append([]byte(nil), b...), ""
}

// writeBlock allocates a block in the module and writes data into it.
func writeBlock(t testing.TB, in *instance, data []byte) uint32 {
	t.Helper()
	p, err := in.allocate(context.Background(), len(data))
	if err != nil {
		t.Fatal(err)
	}
	if !in.mem.Write(p, data) {
		t.Fatal("write block")
	}
	return p
}

// freshInstance is a new instance of module m outside any pool.
func freshInstance(t testing.TB, m wasmbuild.Spec) *instance {
	t.Helper()
	h := newHost(t, m, Options{Instances: 1})
	in, err := h.instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.close)
	return in
}

// corpusBundle is the sealed bundle of the first corpus suite and its IR.
func corpusBundle(t testing.TB) ([]byte, *ir.Bundle) {
	t.Helper()
	s, err := conformance.LoadFile(corpusDir(t) + "/reasons.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ir.Decode(s.Bundle, ir.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return seal(t, s.Bundle, 5), b
}

// TestMalformedInputNeverTraps feeds every export garbage: pointers
// outside memory or outside every block, negative and huge lengths, bad
// JSON, bad type codes and times, calls out of order. Each gets an error
// result with the documented name, and the instance keeps working.
func TestMalformedInputNeverTraps(t *testing.T) {
	forEachModule(t, testMalformedInputNeverTraps)
}

func testMalformedInputNeverTraps(t *testing.T, m wasmbuild.Spec) {
	in := freshInstance(t, m)
	bundle, b := corpusBundle(t)
	doc, err := TrustDocument(trustFor(b))
	if err != nil {
		t.Fatal(err)
	}
	key := writeBlock(t, in, []byte("static-on"))
	good := writeBlock(t, in, []byte(`{"targetingKey":"u1"}`))
	garbage := writeBlock(t, in, []byte("{\"a\":\xff"))
	sec, nsec := unixArgs(openAt)
	// The bad ranges, computed at each use: the end of memory moves when
	// the module grows it (TinyGo's heap does, as blocks are allocated).
	badRanges := func() []struct{ p, n uint64 } {
		mem := uint64(in.mem.Size())
		return []struct{ p, n uint64 }{
			{uint64(key), uint64(math.MaxUint32)}, // length -1
			{uint64(key), 1 << 30},                // beyond the block
			{mem - 1, 10},                         // across the end of memory
			{math.MaxUint32, 1},                   // past memory
			{8, 16},                               // runtime memory, no block
			{uint64(key) + 9, 1},                  // one past the block
		}
	}

	// Out of order: no trust, no bundle.
	if _, _, name := rawCall(t, in, in.openFn, 0, 0, sec, nsec); name != "ErrNoTrust" {
		t.Errorf("open before trust: %q, want ErrNoTrust", name)
	}
	if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, 0, 0, 0, sec, nsec); name != "ErrNoBundle" {
		t.Errorf("evaluate before open: %q, want ErrNoBundle", name)
	}
	if _, _, name := rawCall(t, in, in.evalAllFn, 0, 0, sec, nsec); name != "ErrNoBundle" {
		t.Errorf("evaluate all before open: %q, want ErrNoBundle", name)
	}
	for _, a := range badRanges() {
		if _, _, name := rawCall(t, in, in.setTrust, a.p, a.n); name != "ErrArgument" {
			t.Errorf("set trust %v: %q, want ErrArgument", a, name)
		}
		if _, _, name := rawCall(t, in, in.openFn, a.p, a.n, sec, nsec); name != "ErrArgument" {
			t.Errorf("open %v: %q, want ErrArgument", a, name)
		}
	}
	for _, d := range []string{"", "null", "{", `{"jwks":{}}`, "\xff", strings.Repeat("[", 10000)} {
		p := uint64(0)
		if d != "" {
			p = uint64(writeBlock(t, in, []byte(d)))
		}
		if _, _, name := rawCall(t, in, in.setTrust, p, uint64(len(d))); name != "ErrTrust" {
			t.Errorf("set trust %.20q: %q, want ErrTrust", d, name)
		}
	}
	tp := writeBlock(t, in, doc)
	if n, out, name := rawCall(t, in, in.setTrust, uint64(tp), uint64(len(doc))); n <= 0 || name != "" || !strings.Contains(string(out), `"keys":["`) {
		t.Fatalf("set trust: %d %s %s", n, out, name)
	}
	for _, d := range [][]byte{nil, []byte("x"), bundle[:len(bundle)/2], append(append([]byte{}, bundle...), '.')} {
		p := uint64(0)
		if len(d) > 0 {
			p = uint64(writeBlock(t, in, d))
		}
		if _, _, name := rawCall(t, in, in.openFn, p, uint64(len(d)), sec, nsec); name != "ErrMalformed" && name != "ErrSignature" {
			t.Errorf("open %d bytes of junk: %q", len(d), name)
		}
	}
	bp := writeBlock(t, in, bundle)
	for _, ns := range []uint64{uint64(math.MaxUint32), 1e9} { // -1 and 1e9 nanoseconds
		if _, _, name := rawCall(t, in, in.openFn, uint64(bp), uint64(len(bundle)), sec, ns); name != "ErrArgument" {
			t.Errorf("open at nsec %d: %q, want ErrArgument", int32(ns), name)
		}
	}
	if n, out, name := rawCall(t, in, in.openFn, uint64(bp), uint64(len(bundle)), sec, nsec); n <= 0 || name != "" {
		t.Fatalf("open: %d %s %s", n, out, name)
	}

	// Evaluations with bad arguments.
	for _, a := range badRanges() {
		if _, _, name := rawCall(t, in, in.evalFn, a.p, a.n, uint64(good), 21, 0, sec, nsec); name != "ErrArgument" {
			t.Errorf("evaluate key %v: %q, want ErrArgument", a, name)
		}
		if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, a.p, a.n, 0, sec, nsec); name != "ErrArgument" {
			t.Errorf("evaluate context %v: %q, want ErrArgument", a, name)
		}
		if _, _, name := rawCall(t, in, in.evalAllFn, a.p, a.n, sec, nsec); name != "ErrArgument" {
			t.Errorf("evaluate all context %v: %q, want ErrArgument", a, name)
		}
	}
	for _, typ := range []uint64{5, uint64(math.MaxUint32), 1 << 31} {
		if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, 0, 0, typ, sec, nsec); name != "ErrArgument" {
			t.Errorf("evaluate type %d: %q, want ErrArgument", int32(typ), name)
		}
	}
	if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, 0, 0, 0, sec, 1e9); name != "ErrArgument" {
		t.Errorf("evaluate at nsec 1e9: %q, want ErrArgument", name)
	}
	if _, _, name := rawCall(t, in, in.evalAllFn, 0, 0, sec, uint64(math.MaxUint32)); name != "ErrArgument" {
		t.Errorf("evaluate all at nsec -1: %q, want ErrArgument", name)
	}
	for _, d := range []string{"[]", "1", "null", `{"a":}`, "{\"a\":\"\xff\"}", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)} {
		p := writeBlock(t, in, []byte(d))
		if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, uint64(p), uint64(len(d)), 0, sec, nsec); name != "ErrContext" {
			t.Errorf("evaluate with context %.20q: %q, want ErrContext", d, name)
		}
		if _, _, name := rawCall(t, in, in.evalAllFn, uint64(p), uint64(len(d)), sec, nsec); name != "ErrContext" {
			t.Errorf("evaluate all with context %.20q: %q, want ErrContext", d, name)
		}
	}
	if _, _, name := rawCall(t, in, in.evalFn, uint64(key), 9, uint64(garbage), 6, 0, sec, nsec); name != "ErrContext" {
		t.Errorf("evaluate with invalid UTF-8: %q, want ErrContext", name)
	}

	// ef_alloc refuses sizes it cannot give; ef_free ignores what it did not give.
	for _, n := range []uint64{0, uint64(math.MaxUint32), 1<<27 + 1} {
		if res, err := in.alloc.Call(context.Background(), n); err != nil || res[0] != 0 {
			t.Errorf("ef_alloc(%d) = %v, %v, want 0", int32(n), res, err)
		}
	}
	for _, p := range []uint64{0, 1, uint64(key) + 1, math.MaxUint32} {
		if res, err := in.free.Call(context.Background(), p); err != nil || res[0] != 0 {
			t.Errorf("ef_free(%d) = %v, %v, want 0", p, res, err)
		}
	}

	// Still alive and correct after all that.
	n, out, name := rawCall(t, in, in.evalFn, uint64(key), 9, uint64(good), 21, 0, sec, nsec)
	var r Result
	if n <= 0 || name != "" || json.Unmarshal(out, &r) != nil || r.Key != "static-on" || r.Reason != "STATIC" || r.Version != 5 {
		t.Fatalf("evaluate after garbage: %d %s %s", n, out, name)
	}
}

// FuzzExportsNeverTrap calls the exports with arguments taken from the
// fuzz input — pointers anywhere (inside, across and outside the blocks),
// any lengths, type codes and times, and the input itself as a trust
// document, bundle, key or context — and requires an error result or a
// success, never a trap, then a correct evaluation — on every module, each
// input on each.
func FuzzExportsNeverTrap(f *testing.F) {
	f.Add([]byte(`{"targetingKey":"x"}`), uint32(0), int32(5), int32(0), int64(1780272000), int32(0))
	f.Add([]byte("static-on"), uint32(1<<31), int32(-7), int32(9), int64(-1), int32(-1))
	f.Add([]byte(`{"jwks":{}}`), uint32(64), int32(1<<30), int32(4), int64(1<<62), int32(999999999))
	bundle, b := corpusBundle(f)
	doc, err := TrustDocument(trustFor(b))
	if err != nil {
		f.Fatal(err)
	}
	sec, nsec := unixArgs(openAt)
	// One instance of each module, with the trust document, the bundle and
	// a flag key in blocks.
	type target struct {
		in          *instance
		tp, bp, key uint32
	}
	var targets []target
	for _, m := range modules {
		in := freshInstance(f, m)
		targets = append(targets, target{in, writeBlock(f, in, doc), writeBlock(f, in, bundle), writeBlock(f, in, []byte("static-on"))})
	}
	f.Fuzz(func(t *testing.T, data []byte, off uint32, n int32, typ int32, s int64, ns int32) {
		for _, tg := range targets {
			fuzzExports(t, tg.in, tg.tp, tg.bp, tg.key, uint32(len(doc)), uint32(len(bundle)), sec, nsec, data, off, n, typ, s, ns)
		}
	})
}

// fuzzExports is one input of FuzzExportsNeverTrap on one instance: tp,
// bp and key are blocks holding the trust document (tn bytes), the bundle
// (bn bytes) and "static-on".
func fuzzExports(t *testing.T, in *instance, tp, bp, key, tn, bn uint32, sec, nsec uint64,
	data []byte, off uint32, n int32, typ int32, s int64, ns int32) {
	ctx := context.Background()
	blk := uint64(0)
	if len(data) > 0 {
		blk = uint64(writeBlock(t, in, data))
		defer in.free.Call(ctx, blk)
	}
	p := blk + uint64(off%uint32(len(data)+64)) // near the block, often past its end
	if off&1 == 1 {
		p = uint64(off) // anywhere
	}
	calls := []struct {
		fn   api.Function
		args []uint64
	}{
		{in.setTrust, []uint64{p, uint64(uint32(n))}},
		{in.setTrust, []uint64{blk, uint64(len(data))}},
		{in.openFn, []uint64{p, uint64(uint32(n)), uint64(s), uint64(uint32(ns))}},
		{in.openFn, []uint64{blk, uint64(len(data)), uint64(s), uint64(uint32(ns))}},
		{in.evalFn, []uint64{p, uint64(uint32(n)), blk, uint64(len(data)), uint64(uint32(typ)), uint64(s), uint64(uint32(ns))}},
		{in.evalFn, []uint64{blk, uint64(len(data)), p, uint64(uint32(n)), uint64(uint32(typ % 5)), uint64(s), uint64(uint32(ns))}},
		{in.evalAllFn, []uint64{blk, uint64(len(data)), uint64(s), uint64(uint32(ns))}},
		{in.evalAllFn, []uint64{p, uint64(uint32(n)), uint64(s), uint64(uint32(ns))}},
	}
	for _, c := range calls {
		rawCall(t, in, c.fn, c.args...) // fails the test on a trap
	}
	// Back to a known state, then a correct answer.
	rawCall(t, in, in.setTrust, uint64(tp), uint64(tn))
	if n, out, name := rawCall(t, in, in.openFn, uint64(bp), uint64(bn), sec, nsec); n <= 0 {
		t.Fatalf("open after fuzzing: %s %s", out, name)
	}
	n2, out, _ := rawCall(t, in, in.evalFn, uint64(key), 9, 0, 0, 0, sec, nsec)
	if n2 <= 0 || string(out) != `{"key":"static-on","value":true,"variant":"on","reason":"STATIC","version":5}` {
		t.Fatalf("evaluate after fuzzing: %s", out)
	}
}
