package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// openCorpus sets the trust and opens the reasons.json bundle on h.
func openCorpus(t testing.TB, h *Host) {
	t.Helper()
	bundle, b := corpusBundle(t)
	ctx := context.Background()
	if err := h.SetTrust(ctx, trustFor(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Open(ctx, bundle, openAt); err != nil {
		t.Fatal(err)
	}
}

func checkStaticOn(t testing.TB, h *Host) {
	t.Helper()
	r, err := h.Evaluate(context.Background(), "static-on", []byte(`{"targetingKey":"u"}`), openAt)
	if err != nil || r.Reason != "STATIC" || string(r.Value) != "true" || r.Version != 5 {
		t.Fatalf("evaluate static-on: %+v, %v", r, err)
	}
}

// trapMessage is what a trap's error says: the Go runtime prints the panic
// on stderr (the host adds it); TinyGo's -panic=trap only executes
// unreachable, which wazero reports.
func trapMessage(m wasmbuild.Spec, goPanic string) string {
	if m.Toolchain == wasmbuild.TinyGo {
		return "wasm error: unreachable"
	}
	return goPanic
}

// TestTrapIsDiscardedAndRebuilt: a module that traps (the test build's
// ef_test_trap panics) fails that call with ErrTrap, the instance is
// thrown away, and the next call runs on a new instance that has been
// given the trust and bundle again.
func TestTrapIsDiscardedAndRebuilt(t *testing.T) {
	forEachModule(t, testTrapIsDiscardedAndRebuilt)
}

func testTrapIsDiscardedAndRebuilt(t *testing.T, m wasmbuild.Spec) {
	h := newHost(t, m.WithTest(), Options{Instances: 1})
	openCorpus(t, h)
	checkStaticOn(t, h)
	before := h.created.Load()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		var trapped *instance
		_, err := h.raw(ctx, func(in *instance) ([]byte, error) {
			trapped = in
			_, err := in.mod.ExportedFunction("ef_test_trap").Call(ctx)
			if err != nil {
				return nil, in.trapped("ef_test_trap", err)
			}
			return nil, nil
		})
		if want := trapMessage(m, "deliberate trap"); !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), want) {
			t.Fatalf("ef_test_trap: %v, want ErrTrap saying %q", err, want)
		}
		if !trapped.mod.IsClosed() {
			t.Fatal("the trapped instance was not closed")
		}
		checkStaticOn(t, h)
	}
	if got := h.created.Load() - before; got != 3 {
		t.Fatalf("%d instances created after 3 traps, want 3", got)
	}
}

// TestOutOfMemoryTrapRecovers: the shipped module, capped at 64 MiB, asked
// to take a 100 MiB bundle runs out of memory and traps; the host reports
// ErrTrap, keeps the bundle it had and serves it from a rebuilt instance.
func TestOutOfMemoryTrapRecovers(t *testing.T) {
	forEachModule(t, testOutOfMemoryTrapRecovers)
}

func testOutOfMemoryTrapRecovers(t *testing.T, m wasmbuild.Spec) {
	h := newHost(t, m, Options{Instances: 1, MemoryLimit: 64 << 20})
	openCorpus(t, h)
	before := h.created.Load()
	_, err := h.Open(context.Background(), make([]byte, 100<<20), openAt)
	if want := trapMessage(m, "out of memory"); !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), want) {
		t.Fatalf("open 100 MiB under a 64 MiB cap: %v, want ErrTrap saying %q", err, want)
	}
	checkStaticOn(t, h)
	if got := h.created.Load() - before; got != 1 {
		t.Fatalf("%d instances created after the trap, want 1", got)
	}
}

// TestAppendJSON: the JSON forms carry the bytes the decoded forms decode.
func TestAppendJSON(t *testing.T) {
	forEachModule(t, testAppendJSON)
}

func testAppendJSON(t *testing.T, m wasmbuild.Spec) {
	h := newHost(t, m, Options{Instances: 2})
	openCorpus(t, h)
	ctx := context.Background()
	one, err := h.AppendEvaluate(ctx, []byte("x"), "static-on", ir.TypeBoolean, nil, openAt)
	if err != nil || string(one) != `x{"key":"static-on","value":true,"variant":"on","reason":"STATIC","version":5}` {
		t.Fatalf("AppendEvaluate = %s, %v", one, err)
	}
	all, err := h.AppendEvaluateAll(ctx, nil, []byte(`{"targetingKey":"u"}`), openAt)
	rs, err2 := h.EvaluateAll(ctx, []byte(`{"targetingKey":"u"}`), openAt)
	var decoded []Result
	if err != nil || err2 != nil || json.Unmarshal(all, &decoded) != nil || len(decoded) != len(rs) || len(rs) < 10 {
		t.Fatalf("AppendEvaluateAll = %s, %v, %v", all, err, err2)
	}
	if _, err := h.AppendEvaluate(ctx, nil, "static-on", 9, nil, openAt); err == nil {
		t.Fatal("type 9 accepted")
	}
	var e *Error
	if _, err := h.AppendEvaluateAll(ctx, nil, []byte("[]"), openAt); !errors.As(err, &e) || e.Name != "ErrContext" {
		t.Fatalf("context []: %v", err)
	}
}
