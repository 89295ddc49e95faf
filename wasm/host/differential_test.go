package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// The differential test: flags-as-code configs and contexts generated from
// bytes, compiled and sealed, then opened and evaluated natively (the
// bytes `edgeflag eval` prints) and in the module under wazero; every
// result must be byte-identical. FuzzNativeVsWasm explores with coverage
// (each input on every module);
// TestDifferential runs a fixed pseudo-random stream of
// EDGEFLAG_DIFF_COMPARISONS comparisons (default 20 000; the closing note
// of the wasm issue reports a run of 1 000 000).

// gen turns bytes into choices; past the end it draws from a PRNG seeded
// by the bytes, so short fuzz inputs still make whole configs.
type gen struct {
	data []byte
	i    int
	rng  *rand.Rand
}

func newGen(data []byte) *gen {
	var seed uint64
	for _, c := range data {
		seed = seed*131 + uint64(c)
	}
	return &gen{data: data, rng: rand.New(rand.NewPCG(seed, uint64(len(data))))}
}

func (g *gen) n(max int) int {
	if g.i < len(g.data) {
		g.i++
		return int(g.data[g.i-1]) % max
	}
	return g.rng.IntN(max)
}

func (g *gen) pick(xs []string) string { return xs[g.n(len(xs))] }

var (
	diffStrs  = []string{"pro", "free", "team", "US", "CA", "FR", "@example.com", "bob@other.org", "ana@example.com", "", "é", "日本", "a\"b", `x\y`, "\u2028", "<&>"}
	diffVers  = []string{"1.2.3", "2.0.0", "2.0.0-rc.1", "v1.10.0", "1.2", "bad", "10.0.0+build.5"}
	diffTimes = []string{"2026-01-01T00:00:00Z", "2026-06-15T12:00:00.5+02:00", "2027-03-01T00:00:00Z", "not a time"}
	diffRes   = []string{`^a`, `example\\.com$`, `[0-9]+`, `(?i)PRO`, `\\p{Han}`}
)

// cond is one condition in the CEL subset, over the generated attributes.
func (g *gen) cond(depth int, flags []string) string {
	if depth < 2 && g.n(3) == 0 {
		a, b := g.cond(depth+1, flags), g.cond(depth+1, flags)
		switch g.n(3) {
		case 0:
			return "(" + a + " && " + b + ")"
		case 1:
			return "(" + a + " || " + b + ")"
		}
		return "!(" + a + ")"
	}
	q := strconv.Quote
	switch g.n(16) {
	case 0:
		return "plan == " + q(g.pick(diffStrs))
	case 1:
		return "plan != " + q(g.pick(diffStrs))
	case 2:
		return "age >= " + strconv.Itoa(g.n(80))
	case 3:
		return "score < " + strconv.FormatFloat(float64(g.n(2000))/7, 'g', -1, 64)
	case 4:
		return "country in [" + q(g.pick(diffStrs)) + ", " + q(g.pick(diffStrs)) + "]"
	case 5:
		return "email.endsWith(" + q(g.pick(diffStrs)) + ")"
	case 6:
		return "email.startsWith(" + q(g.pick(diffStrs)) + ") || email.contains(" + q(g.pick(diffStrs)) + ")"
	case 7:
		return `email.matches("` + g.pick(diffRes) + `")`
	case 8:
		return "beta"
	case 9:
		return "size(tags) > " + strconv.Itoa(g.n(4))
	case 10:
		return q(g.pick(diffStrs)) + " in tags"
	case 11:
		return "has(user.plan) && user.plan == " + q(g.pick(diffStrs))
	case 12:
		return "semver(appVersion) >= semver(" + q(g.pick(diffVers[:4])) + ")"
	case 13:
		return "timestamp(created) < now"
	case 14:
		if len(flags) > 0 {
			return `variant("` + g.pick(flags) + `") == "on"`
		}
		return "targetingKey == " + q(g.pick(diffStrs))
	}
	return "size(targetingKey) >= " + strconv.Itoa(g.n(12))
}

// serve is a rule's or default's serve: a variant or a split.
func (g *gen) serve(variants []string) map[string]any {
	if g.n(3) > 0 {
		return map[string]any{"serve": g.pick(variants)}
	}
	split := map[string]any{}
	for _, v := range variants {
		if g.n(3) > 0 {
			split[v] = g.n(100)
		}
	}
	total := 0
	for _, w := range split {
		total += w.(int)
	}
	if total == 0 {
		split[variants[0]] = 1
	}
	out := map[string]any{"split": split}
	if g.n(3) == 0 {
		out["bucketBy"] = g.pick([]string{"accountId", "user.id", "age"})
	}
	return out
}

// config is a flags-as-code document of 1–6 flags for environment prod.
func (g *gen) config() []byte {
	flags := map[string]any{}
	var keys []string
	for i, n := 0, 1+g.n(6); i < n; i++ {
		key := fmt.Sprintf("f%d", i)
		var f map[string]any
		var variants []string
		switch g.n(4) {
		case 0:
			f = map[string]any{"type": "boolean"}
			variants = []string{"on", "off"}
		case 1:
			f = map[string]any{"type": "string", "variants": map[string]any{"on": "A", "b": "B\u00e9", "c": "<c>"}, "defaultVariant": "c"}
			variants = []string{"on", "b", "c"}
		case 2:
			f = map[string]any{"type": "number", "variants": map[string]any{"on": 1.5, "big": 1e21, "tiny": -1e-7, "zero": 0}, "defaultVariant": "zero"}
			variants = []string{"on", "big", "tiny", "zero"}
		default:
			f = map[string]any{"type": "object", "variants": map[string]any{"on": map[string]any{"z": []any{1, "x", nil}, "a": true}, "off": map[string]any{}}, "defaultVariant": "off"}
			variants = []string{"on", "off"}
		}
		env := map[string]any{}
		if g.n(8) == 0 {
			env["enabled"] = false
		}
		var rules []any
		for r, nr := 0, g.n(4); r < nr; r++ {
			rule := g.serve(variants)
			rule["when"] = g.cond(0, keys)
			if g.n(2) == 0 {
				rule["name"] = fmt.Sprintf("r%d", r)
			}
			rules = append(rules, rule)
		}
		if rules != nil {
			env["rules"] = rules
		}
		if g.n(2) == 0 {
			env["default"] = g.serve(variants)
		}
		f["environments"] = map[string]any{"prod": env}
		flags[key] = f
		keys = append(keys, key)
	}
	doc, _ := json.Marshal(map[string]any{"project": "diff", "environments": []string{"prod"}, "flags": flags})
	return doc
}

// context is an evaluation context as JSON text, sometimes with escaped
// keys and odd values, always valid UTF-8.
func (g *gen) context() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	attrs := []string{"targetingKey", "plan", "age", "score", "country", "email", "beta", "tags", "user", "user.plan", "appVersion", "created", "accountId", "x"}
	first := true
	for _, a := range attrs {
		if g.n(3) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		if a == "plan" && g.n(4) == 0 {
			b.WriteString(`"\u0070lan"`) // an escaped key
		} else {
			b.WriteString(strconv.Quote(a))
		}
		b.WriteByte(':')
		b.WriteString(g.value(a))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (g *gen) value(attr string) string {
	if g.n(10) == 0 { // any kind for any attribute
		return []string{"null", "true", "false", "-0", "1e400", "0.1", `""`, `[]`, `{}`, `"\ud800"`, `[1,"a",{"b":null}]`}[g.n(10)]
	}
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	switch attr {
	case "age", "score":
		return strconv.FormatFloat(float64(g.n(10000))/float64(1+g.n(100)), 'g', -1, 64)
	case "beta":
		return []string{"true", "false"}[g.n(2)]
	case "tags":
		return `[` + js(g.pick(diffStrs)) + `,` + js(g.pick(diffStrs)) + `]`
	case "user":
		return `{"plan":` + js(g.pick(diffStrs)) + `,"id":` + strconv.Itoa(g.n(1000)) + `}`
	case "appVersion":
		return js(g.pick(diffVers))
	case "created":
		return js(g.pick(diffTimes))
	case "accountId", "targetingKey":
		return js(fmt.Sprintf("u-%d", g.n(100000)))
	}
	return js(g.pick(diffStrs))
}

// differ checks one generated config on h against the native engine and
// returns the number of results compared.
func differ(t testing.TB, h *Host, data []byte) int {
	g := newGen(data)
	cfg := g.config()
	doc, ds := config.Parse([]config.File{{Name: "gen.json", Data: cfg}})
	if ds.HasErrors() {
		return 0
	}
	b, ds := compile.Build(doc, "prod", ir.AudienceServer)
	if ds.HasErrors() {
		return 0
	}
	enc, err := ir.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	sealed := seal(t, enc, 1+uint64(g.n(1000)))
	ctx := context.Background()
	tr := trustFor(b)
	native, nerr := envelope.Open(sealed, nativeTrust(t, b, openAt))
	if err := h.SetTrust(ctx, tr); err != nil {
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
	for c := 0; c < 40; c++ {
		evalCtx := g.context()
		var m map[string]any
		if err := json.Unmarshal(evalCtx, &m); err != nil {
			// edgeflag eval refuses it (here: a number beyond float64);
			// the module must too.
			_, werr := h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluateAll(ctx, evalCtx, openAt) })
			if e, ok := werr.(*Error); !ok || e.Name != "ErrContext" {
				t.Fatalf("context %s that encoding/json refuses (%v): module %v", evalCtx, err, werr)
			}
			compared++
			continue
		}
		now := openAt.Add(time.Duration(g.n(1<<16)) * time.Hour / 64).Add(time.Duration(g.n(1e6)))
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
		check("evaluate all", got, native.Engine.EvaluateAll(m, now, nil), true)
		key := g.pick(append(keys, "nope"))
		typ := int32(g.n(5))
		got, err = h.raw(ctx, func(in *instance) ([]byte, error) { return in.evaluate(ctx, key, typ, evalCtx, now) })
		if err != nil {
			t.Fatal(err)
		}
		want := native.Engine.Evaluate(key, m, now)
		if typ != 0 {
			want = native.Engine.EvaluateType(key, ir.FlagType(typ), m, now)
		}
		check("evaluate "+key+" as type "+strconv.Itoa(int(typ)), got, []eval.Result{want}, false)
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
	rng := rand.New(rand.NewPCG(11, 12))
	compared, configs := 0, 0
	tried := 0
	for i := 0; compared < want; i++ {
		tried++
		data := make([]byte, 8+rng.IntN(64))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		n := differ(t, h, data)
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
