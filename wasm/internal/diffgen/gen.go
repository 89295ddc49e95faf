// Package diffgen generates the native-versus-wasm differential: flags-as-code
// configs and evaluation contexts made from bytes, compiled through the
// publisher's pipeline, with the native engine's output as the
// expectation. The wazero tests (wasm/host differential_test.go) feed its
// programs to the module directly; WriteFixture writes them, sealed, in
// the sealed corpus' layout for the JavaScript client's runs in Node and
// Chromium (cmd/difffixture). Internal: test tooling, not shipped.
package diffgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Gen turns bytes into choices; past the end it draws from a PRNG seeded
// by the bytes, so short fuzz inputs still make whole configs.
type Gen struct {
	data []byte
	i    int
	rng  *rand.Rand
}

func New(data []byte) *Gen {
	var seed uint64
	for _, c := range data {
		seed = seed*131 + uint64(c)
	}
	return &Gen{data: data, rng: rand.New(rand.NewPCG(seed, uint64(len(data))))}
}

func (g *Gen) N(max int) int {
	if g.i < len(g.data) {
		g.i++
		return int(g.data[g.i-1]) % max
	}
	return g.rng.IntN(max)
}

func (g *Gen) Pick(xs []string) string { return xs[g.N(len(xs))] }

var (
	diffStrs  = []string{"pro", "free", "team", "US", "CA", "FR", "@example.com", "bob@other.org", "ana@example.com", "", "é", "日本", "a\"b", `x\y`, "\u2028", "<&>"}
	diffVers  = []string{"1.2.3", "2.0.0", "2.0.0-rc.1", "v1.10.0", "1.2", "bad", "10.0.0+build.5"}
	diffTimes = []string{"2026-01-01T00:00:00Z", "2026-06-15T12:00:00.5+02:00", "2027-03-01T00:00:00Z", "not a time"}
	diffRes   = []string{`^a`, `example\\.com$`, `[0-9]+`, `(?i)PRO`, `\\p{Han}`}
)

// cond is one condition in the CEL subset, over the generated attributes.
func (g *Gen) cond(depth int, flags []string) string {
	if depth < 2 && g.N(3) == 0 {
		a, b := g.cond(depth+1, flags), g.cond(depth+1, flags)
		switch g.N(3) {
		case 0:
			return "(" + a + " && " + b + ")"
		case 1:
			return "(" + a + " || " + b + ")"
		}
		return "!(" + a + ")"
	}
	q := strconv.Quote
	switch g.N(16) {
	case 0:
		return "plan == " + q(g.Pick(diffStrs))
	case 1:
		return "plan != " + q(g.Pick(diffStrs))
	case 2:
		return "age >= " + strconv.Itoa(g.N(80))
	case 3:
		return "score < " + strconv.FormatFloat(float64(g.N(2000))/7, 'g', -1, 64)
	case 4:
		return "country in [" + q(g.Pick(diffStrs)) + ", " + q(g.Pick(diffStrs)) + "]"
	case 5:
		return "email.endsWith(" + q(g.Pick(diffStrs)) + ")"
	case 6:
		return "email.startsWith(" + q(g.Pick(diffStrs)) + ") || email.contains(" + q(g.Pick(diffStrs)) + ")"
	case 7:
		return `email.matches("` + g.Pick(diffRes) + `")`
	case 8:
		return "beta"
	case 9:
		return "size(tags) > " + strconv.Itoa(g.N(4))
	case 10:
		return q(g.Pick(diffStrs)) + " in tags"
	case 11:
		return "has(user.plan) && user.plan == " + q(g.Pick(diffStrs))
	case 12:
		return "semver(appVersion) >= semver(" + q(g.Pick(diffVers[:4])) + ")"
	case 13:
		return "timestamp(created) < now"
	case 14:
		if len(flags) > 0 {
			return `variant("` + g.Pick(flags) + `") == "on"`
		}
		return "targetingKey == " + q(g.Pick(diffStrs))
	}
	return "size(targetingKey) >= " + strconv.Itoa(g.N(12))
}

// serve is a rule's or default's serve: a variant or a split.
func (g *Gen) serve(variants []string) map[string]any {
	if g.N(3) > 0 {
		return map[string]any{"serve": g.Pick(variants)}
	}
	split := map[string]any{}
	for _, v := range variants {
		if g.N(3) > 0 {
			split[v] = g.N(100)
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
	if g.N(3) == 0 {
		out["bucketBy"] = g.Pick([]string{"accountId", "user.id", "age"})
	}
	return out
}

// Config is a flags-as-code document of 1–6 flags for environment prod.
func (g *Gen) Config() []byte {
	flags := map[string]any{}
	var keys []string
	for i, n := 0, 1+g.N(6); i < n; i++ {
		key := fmt.Sprintf("f%d", i)
		var f map[string]any
		var variants []string
		switch g.N(4) {
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
		if g.N(8) == 0 {
			env["enabled"] = false
		}
		var rules []any
		for r, nr := 0, g.N(4); r < nr; r++ {
			rule := g.serve(variants)
			rule["when"] = g.cond(0, keys)
			if g.N(2) == 0 {
				rule["name"] = fmt.Sprintf("r%d", r)
			}
			rules = append(rules, rule)
		}
		if rules != nil {
			env["rules"] = rules
		}
		if g.N(2) == 0 {
			env["default"] = g.serve(variants)
		}
		f["environments"] = map[string]any{"prod": env}
		flags[key] = f
		keys = append(keys, key)
	}
	doc, _ := json.Marshal(map[string]any{"project": "diff", "environments": []string{"prod"}, "flags": flags})
	return doc
}

// Context is an evaluation context as JSON text, sometimes with escaped
// keys and odd values, always valid UTF-8.
func (g *Gen) Context() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	attrs := []string{"targetingKey", "plan", "age", "score", "country", "email", "beta", "tags", "user", "user.plan", "appVersion", "created", "accountId", "x"}
	first := true
	for _, a := range attrs {
		if g.N(3) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		if a == "plan" && g.N(4) == 0 {
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

func (g *Gen) value(attr string) string {
	if g.N(10) == 0 { // any kind for any attribute
		return []string{"null", "true", "false", "-0", "1e400", "0.1", `""`, `[]`, `{}`, `"\ud800"`, `[1,"a",{"b":null}]`}[g.N(10)]
	}
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	switch attr {
	case "age", "score":
		return strconv.FormatFloat(float64(g.N(10000))/float64(1+g.N(100)), 'g', -1, 64)
	case "beta":
		return []string{"true", "false"}[g.N(2)]
	case "tags":
		return `[` + js(g.Pick(diffStrs)) + `,` + js(g.Pick(diffStrs)) + `]`
	case "user":
		return `{"plan":` + js(g.Pick(diffStrs)) + `,"id":` + strconv.Itoa(g.N(1000)) + `}`
	case "appVersion":
		return js(g.Pick(diffVers))
	case "created":
		return js(g.Pick(diffTimes))
	case "accountId", "targetingKey":
		return js(fmt.Sprintf("u-%d", g.N(100000)))
	}
	return js(g.Pick(diffStrs))
}
