package host

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/wasm/internal/diffgen"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// The differential test: flags-as-code configs and contexts generated from
// bytes (wasm/internal/diffgen, which also writes the same differential
// for the JavaScript client's runs in Node and Chromium), compiled and
// sealed, then opened and evaluated natively (the bytes `edgeflag eval`
// prints) and in the module under wazero; every result must be
// byte-identical. FuzzNativeVsWasm explores with coverage
// (each input on every module);
// TestDifferential runs a fixed pseudo-random stream of
// EDGEFLAG_DIFF_COMPARISONS comparisons (default 20 000; the closing note
// of the wasm issue reports a run of 1 000 000).

// differ checks one generated config on h against the native engine and
// returns the number of results compared.
func differ(t testing.TB, h *Host, data []byte) int {
	p, ok := diffgen.Compile(data)
	if !ok {
		return 0
	}
	cfg := p.Config
	sealed := seal(t, p.Payload, p.Version)
	ctx := context.Background()
	native, nerr := envelope.Open(sealed, nativeTrust(t, p.Bundle, openAt))
	if err := h.SetTrust(ctx, trustFor(p.Bundle)); err != nil {
		t.Fatal(err)
	}
	_, werr := h.Open(ctx, sealed, openAt)
	if envelope.ErrorName(nerr) != errName(werr) || (nerr == nil) != (werr == nil) {
		t.Fatalf("open: native %v, module %v\nconfig %s", nerr, werr, cfg)
	}
	if nerr != nil {
		return 1
	}
	keys := native.Engine.Keys()
	compared := 1
	for range diffgen.ProbesPerProgram {
		pr := p.Probe(keys, openAt)
		evalCtx, now := pr.Context, pr.Now
		if pr.Parsed == nil {
			// edgeflag eval refuses it (here: a number beyond float64);
			// the module must too.
			_, werr := h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluateAll(ctx, evalCtx, openAt) })
			if e, ok := werr.(*Error); !ok || e.Name != "ErrContext" {
				t.Fatalf("context %s that encoding/json refuses: module %v", evalCtx, werr)
			}
			compared++
			continue
		}
		check := func(what string, got []byte, want []eval.Result, array bool) {
			if exp := cliJSON(t, want, array); !bytes.Equal(got, exp) {
				t.Fatalf("%s with context %s at %s:\nmodule %s\nnative %s\nconfig %s", what, evalCtx, now.Format(time.RFC3339Nano), got, exp, cfg)
			}
			compared += len(want)
		}
		got, err := h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluateAll(ctx, evalCtx, now) })
		if err != nil {
			t.Fatal(err)
		}
		check("evaluate all", got, native.Engine.EvaluateAll(pr.Parsed, now, nil), true)
		got, err = h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluate(ctx, pr.Key, int32(pr.Type), evalCtx, now) })
		if err != nil {
			t.Fatal(err)
		}
		want := native.Engine.Evaluate(pr.Key, pr.Parsed, now)
		if pr.Type != 0 {
			want = native.Engine.EvaluateType(pr.Key, pr.Type, pr.Parsed, now)
		}
		check("evaluate "+pr.Key+" as type "+strconv.Itoa(int(pr.Type)), got, []eval.Result{want}, false)
	}
	return compared
}

func errName(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := err.(interface{ Unwrap() error }); ok {
		if he, ok := e.Unwrap().(*Error); ok {
			return he.Name
		}
	}
	return strings.TrimSpace(err.Error())
}

func FuzzNativeVsWasm(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x05\x03\x02\x01", "seed-1", strings.Repeat("\xff\x10", 40)} {
		f.Add([]byte(s))
	}
	var hosts []*Host
	for _, m := range modules {
		hosts = append(hosts, newHost(f, m, Options{Instances: 1}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, h := range hosts {
			differ(t, h, data)
		}
	})
}

// TestDifferential runs the generator on a fixed stream until it has
// compared EDGEFLAG_DIFF_COMPARISONS results (default 20 000) on each
// module.
func TestDifferential(t *testing.T) {
	forEachModule(t, testDifferential)
}

func testDifferential(t *testing.T, m wasmbuild.Spec) {
	want := 20_000
	if s := os.Getenv("EDGEFLAG_DIFF_COMPARISONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("EDGEFLAG_DIFF_COMPARISONS=%q: want a positive number", s)
		}
		want = n
	}
	h := newHost(t, m, Options{Instances: 1})
	in := diffgen.NewInputs(11, 12)
	compared, configs := 0, 0
	tried := 0
	for i := 0; compared < want; i++ {
		tried++
		n := differ(t, h, in.Next())
		if n > 0 {
			configs++
		}
		compared += n
		if i > 50 && configs == 0 {
			t.Fatal("no generated config compiles")
		}
	}
	t.Logf("%d results compared byte for byte over %d generated configs (of %d generated): 0 differences", compared, configs, tried)
}
