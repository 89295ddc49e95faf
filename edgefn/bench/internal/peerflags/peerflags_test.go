package peerflags

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// TestCommittedFilesAreGenerated: edgefn/bench/flags holds exactly what
// the generator writes for the peer set (regenerate with
// go run ./edgefn/bench/cmd/benchflags -n 100 -edgeflag edgefn/bench/flags/peer -goff edgefn/bench/flags/goff-peer.yaml).
func TestCommittedFilesAreGenerated(t *testing.T) {
	for path, want := range map[string][]byte{"../../flags/peer/flags.yaml": Edgeflag(Peer), "../../flags/goff-peer.yaml": GOFF(Peer)} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what benchflags writes; regenerate it", path)
		}
	}
}

func engine(t *testing.T, s Set) *eval.Engine {
	t.Helper()
	doc, ds := config.Parse([]config.File{{Name: "flags.yaml", Data: Edgeflag(s)}})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	b, ds := compile.Build(doc, Environment, ir.AudienceServer)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	e, err := eval.Load(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	now     = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	peerCtx = eval.Context{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42.0}
)

// TestPeerSemantics: the edgeflag set behaves as the peers' flag set
// (the semantics the peer engines' benchmarks check): f1 on, f2's three rules in order and its
// split, f3's 10 % rollout, every F2-like flag "senior" for Context.
func TestPeerSemantics(t *testing.T) {
	e := engine(t, Peer)
	if r := e.Evaluate("f1", peerCtx, now); r.Value != true {
		t.Fatalf("f1: %+v", r)
	}
	for i, c := range []struct {
		ctx  eval.Context
		want string
	}{
		{peerCtx, "senior"},
		{eval.Context{"targetingKey": "k", "email": "x@example.com", "age": 50.0}, "internal"},
		{eval.Context{"targetingKey": "k", "country": "CA", "plan": "pro", "age": 50.0}, "pro-na"},
		{eval.Context{"targetingKey": "k", "country": "CA", "plan": "free", "age": 29.0}, ""},
	} {
		r := e.Evaluate("f2", c.ctx, now)
		if c.want != "" && r.Value != c.want || c.want == "" && r.Reason != eval.ReasonSplit {
			t.Errorf("f2 check %d: %+v, want %q", i, r, c.want)
		}
	}
	const n = 20000
	on, a := 0, 0
	for i := 0; i < n; i++ {
		c := eval.Context{"targetingKey": fmt.Sprintf("user-%d", i)}
		if e.Evaluate("f3", c, now).Value == true {
			on++
		}
		if e.Evaluate("f2", c, now).Value == "a" {
			a++
		}
	}
	if on < n*8/100 || on > n*12/100 || a < n*47/100 || a > n*53/100 {
		t.Errorf("f3 on %d, f2 a %d of %d", on, a, n)
	}
	all := e.EvaluateAll(peerCtx, now, nil)
	senior := 0
	for _, r := range all {
		if r.Value == "senior" {
			senior++
		}
	}
	if len(all) != 103 || senior != 101 {
		t.Errorf("bulk: %d flags, %d senior", len(all), senior)
	}
}

// TestVariedSemantics: in a varied set each flag keeps its own threshold,
// domain and countries.
func TestVariedSemantics(t *testing.T) {
	s := Set{N: 200, Varied: true}
	e := engine(t, s)
	for i := 0; i < s.N; i++ {
		k := Key(i, s.N)
		r := e.Evaluate(k, peerCtx, now)
		if (r.Value == "senior") != s.Senior(i) {
			t.Errorf("%s: %+v, senior %v", k, r, s.Senior(i))
		}
		if r := e.Evaluate(k, eval.Context{"targetingKey": "k", "email": fmt.Sprintf("x@d%d.example", i)}, now); r.Value != "internal" {
			t.Errorf("%s: own domain: %+v", k, r)
		}
	}
}

// TestGOFFShape: the GO Feature Flag file parses as YAML with the same
// flags, each with variations, rules in the same order and a default.
func TestGOFFShape(t *testing.T) {
	var m map[string]struct {
		Variations map[string]any `yaml:"variations"`
		Targeting  []struct {
			Name, Query, Variation string
		} `yaml:"targeting"`
		DefaultRule map[string]any `yaml:"defaultRule"`
	}
	if err := yaml.Unmarshal(GOFF(Peer), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 103 {
		t.Fatalf("%d flags", len(m))
	}
	for _, k := range Peer.Keys() {
		f, ok := m[k]
		if !ok || f.DefaultRule == nil || len(f.Variations) == 0 {
			t.Fatalf("%s: %+v", k, f)
		}
		if k != "f1" && k != "f3" && (len(f.Targeting) != 3 || f.Targeting[2].Query != "age ge 30" || f.Variations["senior"] != "senior") {
			t.Fatalf("%s: %+v", k, f)
		}
	}
	if m["f1"].Variations["on"] != true || m["f3"].DefaultRule["percentage"].(map[string]any)["on"] != 10 {
		t.Fatalf("f1/f3: %+v %+v", m["f1"], m["f3"])
	}
}
