package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/wasm/internal/diffgen"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// wasmEvaluator runs corpus cases on the module: each suite's bundle is
// sealed with the test key and opened in the module (verified there), the
// case's context goes in as JSON and the module's JSON results come back.
// It also holds every result to what `edgeflag eval` prints for the same
// bundle natively, byte for byte (version included), which the corpus'
// own comparison does not look at.
type wasmEvaluator struct {
	t      testing.TB
	h      *Host
	mu     sync.Mutex
	opened *conformance.Suite
	native *envelope.Bundle
}

func (w *wasmEvaluator) load(s *conformance.Suite) error {
	if w.opened == s {
		return nil
	}
	b, err := ir.Decode(s.Bundle, ir.DefaultLimits())
	if err != nil {
		return err
	}
	data := seal(w.t, s.Bundle, 3)
	tr := trustFor(b)
	ctx := context.Background()
	if err := w.h.SetTrust(ctx, tr); err != nil {
		return err
	}
	if _, err := w.h.Open(ctx, data, openAt); err != nil {
		return err
	}
	if w.native, err = envelope.Open(data, nativeTrust(w.t, b, openAt)); err != nil {
		return err
	}
	w.opened = s
	return nil
}

func (w *wasmEvaluator) Evaluate(s *conformance.Suite, c *conformance.Case) ([]conformance.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.load(s); err != nil {
		return nil, err
	}
	now, err := c.Time(s)
	if err != nil {
		return nil, err
	}
	evalCtx, err := json.Marshal(c.Context)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	e := w.native.Engine
	var raw []byte
	var want []eval.Result
	switch {
	case c.Kind == conformance.KindAll:
		raw, err = w.h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluateAll(ctx, evalCtx, now) })
		want = e.EvaluateAll(eval.Context(c.Context), now, nil)
	case c.Type != "":
		typ, terr := conformance.FlagType(c.Type)
		if terr != nil {
			return nil, terr
		}
		raw, err = w.h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluate(ctx, c.Flag, int32(typ), evalCtx, now) })
		want = []eval.Result{e.EvaluateType(c.Flag, typ, eval.Context(c.Context), now)}
	default:
		raw, err = w.h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluate(ctx, c.Flag, 0, evalCtx, now) })
		want = []eval.Result{e.Evaluate(c.Flag, eval.Context(c.Context), now)}
	}
	if err != nil {
		return nil, err
	}
	if exp := cliJSON(w.t, want, c.Kind == conformance.KindAll); !bytes.Equal(raw, exp) {
		return nil, fmt.Errorf("module printed\n%s\nedgeflag eval prints\n%s", raw, exp)
	}
	var rs []Result
	if c.Kind == conformance.KindAll {
		err = json.Unmarshal(raw, &rs)
	} else {
		rs = make([]Result, 1)
		err = json.Unmarshal(raw, &rs[0])
	}
	if err != nil {
		return nil, err
	}
	out := make([]conformance.Result, len(rs))
	for i, r := range rs {
		out[i] = conformance.Result{Key: r.Key, Value: r.Value, Variant: r.Variant, Reason: r.Reason, ErrorCode: r.ErrorCode, RuleID: r.RuleID}
	}
	return out, nil
}

// cliJSON is what `edgeflag eval` writes for rs (its ResultJSON through
// encoding/json without HTML escaping), as one object or a JSON array.
func cliJSON(t testing.TB, rs []eval.Result, array bool) []byte {
	t.Helper()
	out, err := diffgen.NativeLine(rs, array)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func corpusDir(t testing.TB) string {
	t.Helper()
	return filepath.Join("..", "..", "bundle", "conformance", "testdata")
}

// TestCorpusOnWazero runs the whole golden corpus on each module under
// wazero: every case must pass the corpus check and print exactly what
// the native engine prints.
func TestCorpusOnWazero(t *testing.T) {
	suites, err := conformance.LoadDir(corpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	forEachModule(t, func(t *testing.T, m wasmbuild.Spec) {
		ev := &wasmEvaluator{t: t, h: newHost(t, m, Options{Instances: 2})}
		fails := conformance.Run(suites, ev)
		for _, f := range fails {
			t.Error(f)
		}
		n := 0
		for _, s := range suites {
			n += len(s.Cases)
		}
		if n < 300 {
			t.Fatalf("ran %d cases, the corpus has at least 300", n)
		}
		t.Logf("%d suites, %d cases, %d failures", len(suites), n, len(fails))
	})
}
