package peers

import (
	"fmt"
	"testing"
)

// peerEngine is one engine loaded with BasicSet (f1, f2, f3) and a bulk
// set of f2 copies, as the tests query it and the benchmarks run it.
type peerEngine interface {
	label() string
	// boolValue and stringValue evaluate a flag of BasicSet; an error
	// reads as false or as a string no check expects.
	boolValue(key string, a Attrs) bool
	stringValue(key string, a Attrs) string
	// all evaluates every flag of the bulk set: flag key to value.
	all(a Attrs) map[string]any
	// The benchmarks of BenchmarkEval, each checking every result as
	// edgeflag's do (F3 only that it evaluates).
	benchF1(b *testing.B)
	benchF2(b *testing.B)
	benchF3(b *testing.B)
	benchAll(b *testing.B)
}

// engines are the four engines in their benchstat column order.
var engines = []func(testing.TB, Set) peerEngine{newLD, newFlagd, newGOFFCore, newGOFF}

// f2Checks are f2's rule checks: a context for each rule, and one that
// matches none and so lands in the split (want "").
var f2Checks = []struct {
	attrs Attrs
	want  string
}{
	{Attrs{"targetingKey": "k", "email": "x@example.com", "age": 50}, "internal"},
	{Attrs{"targetingKey": "k", "country": "CA", "plan": "pro", "age": 50}, "pro-na"},
	{Attrs{"targetingKey": "k", "country": "CA", "plan": "free", "age": 29}, ""},
}

// TestPeerSemantics checks that every engine serves the peer set as
// edgeflag's TestPeerFlagSemantics (bundle/eval/peer_bench_test.go)
// expects of edgeflag: f1 true and f2 "senior" for the benchmark context,
// each f2 rule, the split for a context that no rule matches, the shares
// of f3's 10 % rollout and f2's 50/50 split over 20 000 user keys (within
// 2.5 percentage points), and "senior" for each of the 100 bulk flags.
func TestPeerSemantics(t *testing.T) {
	for _, newEngine := range engines {
		e := newEngine(t, BulkSet)
		t.Run("engine="+e.label(), func(t *testing.T) {
			ctx := PeerContext()
			if !e.boolValue("f1", ctx) {
				t.Error("f1 is not true")
			}
			if v := e.stringValue("f2", ctx); v != "senior" {
				t.Errorf("f2 = %q, want senior", v)
			}
			for i, c := range f2Checks {
				v := e.stringValue("f2", c.attrs)
				if c.want != "" && v != c.want || c.want == "" && v != "a" && v != "b" {
					t.Errorf("f2 check %d: %q, want %q", i, v, c.want)
				}
			}
			const users = 20000
			on, a := 0, 0
			for u := 0; u < users; u++ {
				c := Attrs{"targetingKey": fmt.Sprintf("user-%d", u)}
				if e.boolValue("f3", c) {
					on++
				}
				if e.stringValue("f2", c) == "a" {
					a++
				}
			}
			checkShare(t, "f3 on", on, users, 0.10)
			checkShare(t, "f2 a", a, users, 0.50)
			checkBulk(t, e.all(ctx), BulkSet)
		})
	}
}

// TestLoadDocuments checks that the documents the loads measure hold the
// flags they claim: every copy of f2 is there and serves "senior".
func TestLoadDocuments(t *testing.T) {
	set := LoadSet(250)
	for _, newEngine := range engines {
		e := newEngine(t, set)
		t.Run("engine="+e.label(), func(t *testing.T) { checkBulk(t, e.all(PeerContext()), set) })
	}
}

func checkBulk(t *testing.T, got map[string]any, set Set) {
	t.Helper()
	if len(got) != set.Copies {
		t.Errorf("bulk: %d results, want %d", len(got), set.Copies)
	}
	wrong, first := 0, ""
	for i := 0; i < set.Copies; i++ {
		if v := got[set.Key(i)]; v != "senior" {
			if wrong++; wrong == 1 {
				first = fmt.Sprintf("%s = %v", set.Key(i), v)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("bulk: %d of %d flags do not serve senior (first: %s)", wrong, set.Copies, first)
	}
}

// checkShare fails unless got of n is within 2.5 percentage points of
// the share want, the tolerance edgeflag's semantics test allows.
func checkShare(t *testing.T, what string, got, n int, want float64) {
	t.Helper()
	if p := float64(got) / float64(n); p < want-0.025 || p > want+0.025 {
		t.Errorf("%s: share %.4f, want %.2f ± 0.025", what, p, want)
	}
}

// BenchmarkEval runs F1, F2, F3 and F100all (the 100 bulk flags together)
// on every engine with PeerContext. Names are CASE/engine=LABEL, so
// `benchstat -col /engine` puts the engines in columns, next to
// edgeflag's engine=edgeflag-yaml from bundle/eval. One engine is loaded
// at a time, so no engine's heap is live while another is measured (the
// collector's cost grows with the live heap).
func BenchmarkEval(b *testing.B) {
	for _, newEngine := range engines {
		e := newEngine(b, BulkSet)
		for _, c := range []struct {
			name string
			run  func(peerEngine, *testing.B)
		}{
			{"F1", peerEngine.benchF1},
			{"F2", peerEngine.benchF2},
			{"F3", peerEngine.benchF3},
			{"F100all", peerEngine.benchAll},
		} {
			b.Run(c.name+"/engine="+e.label(), func(b *testing.B) {
				b.ReportAllocs()
				c.run(e, b)
			})
		}
	}
}

// loads are BenchmarkLoad's engines: each writes LoadSet(n) in its format
// and runs the timed loop over loading it.
var loads = []struct {
	label string
	doc   func(Set) []byte
	run   func(b *testing.B, doc []byte, n int)
}{
	{"ld", LDDocument, benchLDLoad},
	{"flagd", func(s Set) []byte { return []byte(FlagdDocument(s)) }, benchFlagdLoad},
	{"goffcore-json", GOFFJSON, benchGOFFCoreLoad("json")},
	{"goffcore-yaml", GOFFYAML, benchGOFFCoreLoad("yaml")},
	{"goff-json", GOFFJSON, benchGOFFLoad("json")},
	{"goff-yaml", GOFFYAML, benchGOFFLoad("yaml")},
}

// BenchmarkLoad measures each engine's load of 1 000 and 10 000 copies of
// f2 from its document to a ready engine, with the document's bytes as
// the benchmark's bytes. (flagd's Load10k takes about 20 s per op.)
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, l := range loads {
			doc := l.doc(LoadSet(n))
			b.Run(fmt.Sprintf("Load%dk/engine=%s", n/1000, l.label), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				l.run(b, doc, n)
			})
		}
	}
}
