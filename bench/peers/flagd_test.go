package peers

// engine=flagd: flagd's core JSON evaluator over its in-memory store
// (go-memdb), fed through SetState — schema validation, JSON decoding and
// the store update, the path flagd's file, gRPC and HTTP syncs take.

import (
	"context"
	"maps"
	"testing"

	"github.com/open-feature/flagd/core/pkg/evaluator"
	"github.com/open-feature/flagd/core/pkg/logger"
	"github.com/open-feature/flagd/core/pkg/store"
	"github.com/open-feature/flagd/core/pkg/sync"
)

const flagdSource = "peers"

// newFlagdEvaluator builds an evaluator with an empty store that accepts
// flagdSource; building it compiles flagd's JSON schema.
func newFlagdEvaluator(tb testing.TB) *evaluator.JSON {
	log := logger.NewLogger(nil, false)
	st, err := store.NewStore(log, []string{flagdSource})
	if err != nil {
		tb.Fatal(err)
	}
	return evaluator.NewJSON(log, st)
}

func flagdLoad(tb testing.TB, ev *evaluator.JSON, doc string) {
	if err := ev.SetState(sync.DataSync{FlagData: doc, Source: flagdSource}); err != nil {
		tb.Fatal(err)
	}
}

type flagdEngine struct{ basic, bulk *evaluator.JSON }

// newFlagd loads BasicSet and bulk.
func newFlagd(tb testing.TB, bulkSet Set) peerEngine {
	e := &flagdEngine{basic: newFlagdEvaluator(tb), bulk: newFlagdEvaluator(tb)}
	flagdLoad(tb, e.basic, FlagdDocument(BasicSet))
	flagdLoad(tb, e.bulk, FlagdDocument(bulkSet))
	return e
}

// flagdContextOf is the evaluation context as flagd's API receives it.
func flagdContextOf(a Attrs) map[string]any { return maps.Clone(a) }

func (*flagdEngine) label() string { return "flagd" }

func (e *flagdEngine) boolValue(key string, a Attrs) bool {
	v, _, _, _, err := e.basic.ResolveBooleanValue(context.Background(), "", key, flagdContextOf(a))
	return err == nil && v
}

func (e *flagdEngine) stringValue(key string, a Attrs) string {
	v, _, _, _, err := e.basic.ResolveStringValue(context.Background(), "", key, flagdContextOf(a))
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

func (e *flagdEngine) all(a Attrs) map[string]any {
	res, _, err := e.bulk.ResolveAllValues(context.Background(), "", flagdContextOf(a))
	out := map[string]any{}
	if err != nil {
		out["error"] = err.Error()
	}
	for _, r := range res {
		out[r.FlagKey] = r.Value
	}
	return out
}

func (e *flagdEngine) benchF1(b *testing.B) {
	ctx, c := context.Background(), flagdContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, _, _, _, err := e.basic.ResolveBooleanValue(ctx, "", "f1", c); err != nil || !v {
			b.Fatalf("f1 = %v (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *flagdEngine) benchF2(b *testing.B) {
	ctx, c := context.Background(), flagdContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, _, _, _, err := e.basic.ResolveStringValue(ctx, "", "f2", c); err != nil || v != "senior" {
			b.Fatalf("f2 = %q (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *flagdEngine) benchF3(b *testing.B) {
	ctx, c := context.Background(), flagdContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if _, _, _, _, err := e.basic.ResolveBooleanValue(ctx, "", "f3", c); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

func (e *flagdEngine) benchAll(b *testing.B) {
	ctx, c := context.Background(), flagdContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if res, _, err := e.bulk.ResolveAllValues(ctx, "", c); err != nil || len(res) != BulkSet.Copies {
			b.Fatalf("%d results (%v)", len(res), err)
		}
	}
	cpu.report(b)
}

// benchFlagdLoad is Load's engine=flagd: SetState of a document of n
// flags into a new, empty store (a first load, not an update). The
// evaluator is built outside the timing: that compiles flagd's schema,
// which a flagd process does once.
// flagd counts nothing it loads; TestLoadDocuments checks that the
// document holds n flags that evaluate.
func benchFlagdLoad(b *testing.B, doc []byte, _ int) {
	cfg := string(doc)
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cpu.stop()
		ev := newFlagdEvaluator(b)
		cpu.start()
		b.StartTimer()
		flagdLoad(b, ev, cfg)
	}
	cpu.report(b)
}
