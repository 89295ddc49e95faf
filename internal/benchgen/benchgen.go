// Package benchgen generates the flag sets that edgeflag's load, open and
// evaluation benchmarks and their tests measure, as flags-as-code YAML
// (docs/config.md) that the publisher compiles like any other directory.
//
// Two sets:
//
//   - Realistic: flags that differ from one another the way a real flag
//     file's do. Every flag has its own key, type, variant names and
//     values, rule names, rule count and the constants in its conditions
//     (email domains, country lists, plans, thresholds, versions, user
//     IDs), its own split weights and its own description. Segments are
//     shared, as in real projects. Nothing in it repeats by construction,
//     so no decoder or loader can share work between flags that a real
//     bundle would not let it share.
//   - Peer: the F2 flag of the peer benchmarks (3 rules and a 50/50 split,
//     the same constants in every copy) repeated n times, the shape the
//     peers' Load10k measures.
//
// The output is deterministic: flag i of a set depends only on i, so the
// first 100 flags of Realistic(10000) are Realistic(100).
package benchgen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Project and Environment name every generated set's project and its one
// environment.
const (
	Project     = "bench"
	Environment = "production"
)

// contextDecl declares the attributes that Realistic's conditions read,
// with the types an application would send.
const contextDecl = "context:\n" +
	"  targetingKey: string\n  email: string\n  country: string\n  plan: string\n" +
	"  age: number\n  appVersion: semver\n  platform: string\n  accountId: string\n" +
	"  beta: bool\n  locale: string\n  signupAt: timestamp\n  tags: list\n" +
	"  company.size: number\n  company.industry: string\n"

// Context returns a realistic evaluation context for user u: 14
// attributes (one nested object), as an application's server SDK sends
// them. It matches few rules of Realistic, so evaluations mostly walk
// every rule of a flag.
func Context(u int) map[string]any {
	return map[string]any{
		"targetingKey": "user-" + strconv.Itoa(u),
		"email":        "user" + strconv.Itoa(u) + "@mail.example.net",
		"country":      countries[u%len(countries)],
		"plan":         "free",
		"age":          float64(17 + u%50),
		"appVersion":   "3." + strconv.Itoa(u%9) + ".1",
		"platform":     platforms[u%len(platforms)],
		"accountId":    "acct-" + strconv.Itoa(90000+u),
		"beta":         false,
		"locale":       "en-GB",
		"signupAt":     "2023-0" + strconv.Itoa(1+u%9) + "-15T10:00:00Z",
		"tags":         []any{"newsletter", "mobile"},
		"company":      map[string]any{"size": float64(12 + u%400), "industry": "retail"},
		"sessionId":    "s-" + strconv.Itoa(u*7919),
	}
}

var (
	areas = []string{"checkout", "search", "onboarding", "billing", "growth", "mobile", "api",
		"web", "infra", "ml", "notifications", "payments", "catalog", "support", "identity", "ads"}
	features = []string{"redesign", "v2", "banner", "limit", "ranking", "cache", "timeout",
		"dark-mode", "pricing", "upsell", "retry", "batching", "tooltip", "carousel", "export",
		"sso", "wizard", "digest", "quota", "fallback"}
	teams = []string{"payments", "growth", "search", "platform", "mobile", "identity",
		"data", "web", "infra", "support"}
	countries = []string{"US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "NO", "DK", "FI",
		"PL", "PT", "IE", "AT", "CH", "BE", "AU", "NZ", "JP", "KR", "SG", "IN", "BR", "MX", "AR", "ZA"}
	plans      = []string{"free", "starter", "pro", "team", "business", "enterprise"}
	platforms  = []string{"ios", "android", "web", "desktop"}
	industries = []string{"retail", "finance", "health", "media", "travel", "education", "gaming"}
	ruleWords  = []string{"beta-users", "internal", "eu-customers", "enterprise", "mobile", "new-signups",
		"power-users", "high-value", "trial", "partners", "qa", "early-access", "large-accounts",
		"apac", "returning", "campaign"}
	variantWords = []string{"control", "treatment", "blue", "green", "compact", "wide", "legacy",
		"fast", "safe", "bold", "minimal", "classic", "v1", "v2", "v3", "holdout"}
	words = []string{"faster", "cheaper", "simpler", "clearer", "one-click", "guided", "smart",
		"regional", "seasonal", "weekly", "instant", "adaptive", "secure", "social"}
)

// numSegments is how many segments Realistic defines (fewer than flags,
// shared by the rules that reference them, as in real projects).
const numSegments = 40

// Probe is a context that Realistic's generator built to match the first
// rule of one flag, with what that flag must return for it.
type Probe struct {
	Flag    string
	Context map[string]any
	// RuleID is the first rule's ID; the result must name it.
	RuleID string
	// Variant is the variant that rule serves, or "" when it serves a
	// split.
	Variant string
}

// Set is a generated flag file.
type Set struct {
	YAML []byte
	// Probes has one entry per enabled flag whose first rule can be
	// matched by construction.
	Probes []Probe
}

// Realistic returns n flags that all differ (see the package comment)
// and 40 segments, in one file for environment production. About 55 % of
// the flags are boolean, 20 % string, 12 % number and 13 % object; 30 %
// have no rules, the others one to four; a third of the serves are
// percentage splits with their own weights; 30 % are client-side.
func Realistic(n int) Set {
	var sb strings.Builder
	sb.Grow(n * 900)
	sb.WriteString("project: " + Project + "\nenvironments: [" + Environment + "]\n" + contextDecl)
	sb.WriteString("segments:\n")
	segs := make([]segment, numSegments)
	for s := range segs {
		segs[s] = newSegment(s)
		sb.WriteString(segs[s].yaml)
	}
	sb.WriteString("flags:\n")
	probes := make([]Probe, 0, n)
	for i := 0; i < n; i++ {
		f := newFlag(i, segs)
		sb.WriteString(f.yaml)
		if f.probe != nil {
			probes = append(probes, *f.probe)
		}
	}
	return Set{YAML: []byte(sb.String()), Probes: probes}
}

// Key returns the key of Realistic's flag i.
func Key(i int) string {
	r := rand.New(rand.NewPCG(0xed6ef1a6, uint64(i)))
	return areas[r.IntN(len(areas))] + "-" + features[r.IntN(len(features))] + "-" + fmt.Sprintf("%05d", i)
}

// cond is one generated condition and the attributes of a context that
// satisfies it.
type cond struct {
	expr    string
	witness map[string]any
}

type segment struct {
	name    string
	yaml    string
	witness map[string]any
}

func newSegment(s int) segment {
	r := rand.New(rand.NewPCG(0x5e6, uint64(s)))
	name := ruleWords[s%len(ruleWords)] + "-" + strconv.Itoa(s)
	if s%2 == 0 {
		// A static key list of account or user IDs.
		attr, prefix := "accountId", "acct-"
		if s%4 == 0 {
			attr, prefix = "targetingKey", "user-"
		}
		keys := make([]string, 5+r.IntN(40))
		for k := range keys {
			keys[k] = prefix + strconv.Itoa(s*1000+r.IntN(1000))
		}
		return segment{name: name,
			yaml:    fmt.Sprintf("  %s:\n    attribute: %s\n    keys: [%s]\n", name, attr, strings.Join(keys, ", ")),
			witness: map[string]any{attr: keys[0]}}
	}
	c := newCond(r, s, 1)
	return segment{name: name, yaml: fmt.Sprintf("  %s:\n    when: '%s'\n", name, c.expr), witness: c.witness}
}

// newCond returns a condition with its own constants; salt makes the
// constants of different flags and rules differ. It combines up to parts
// comparisons on distinct attributes with &&.
func newCond(r *rand.Rand, salt, parts int) cond {
	used := map[int]bool{}
	var exprs []string
	w := map[string]any{}
	for p := 0; p < parts; p++ {
		t := r.IntN(10)
		for used[t] {
			t = (t + 1) % 10
		}
		used[t] = true
		switch t {
		case 0:
			d := words[r.IntN(len(words))] + strconv.Itoa(salt) + ".example"
			exprs = append(exprs, `email.endsWith("@`+d+`")`)
			w["email"] = "someone@" + d
		case 1:
			k := 2 + r.IntN(5)
			list := make([]string, k)
			off := r.IntN(len(countries))
			for j := range list {
				list[j] = strconv.Quote(countries[(off+j*3)%len(countries)])
			}
			exprs = append(exprs, "country in ["+strings.Join(list, ", ")+"]")
			w["country"] = countries[off]
		case 2:
			p := plans[r.IntN(len(plans))]
			exprs = append(exprs, `plan == "`+p+`"`)
			w["plan"] = p
		case 3:
			a := 16 + r.IntN(60)
			exprs = append(exprs, "age >= "+strconv.Itoa(a))
			w["age"] = float64(a + r.IntN(5))
		case 4:
			v := fmt.Sprintf("%d.%d.%d", 2+r.IntN(5), r.IntN(20), r.IntN(10))
			exprs = append(exprs, `appVersion >= semver("`+v+`")`)
			w["appVersion"] = v
		case 5:
			pl := platforms[r.IntN(len(platforms))]
			exprs = append(exprs, `platform == "`+pl+`"`)
			w["platform"] = pl
		case 6:
			k := 2 + r.IntN(8)
			ids := make([]string, k)
			for j := range ids {
				ids[j] = strconv.Quote("user-" + strconv.Itoa(salt*100+r.IntN(100000)))
			}
			exprs = append(exprs, "targetingKey in ["+strings.Join(ids, ", ")+"]")
			id, _ := strconv.Unquote(ids[0])
			w["targetingKey"] = id
		case 7:
			n := 50 + r.IntN(5000)
			exprs = append(exprs, "company.size > "+strconv.Itoa(n))
			w["company.size"] = float64(n + 1)
		case 8:
			ind := industries[r.IntN(len(industries))]
			exprs = append(exprs, `company.industry == "`+ind+`"`)
			w["company.industry"] = ind
		case 9:
			exprs = append(exprs, "beta")
			w["beta"] = true
		}
	}
	return cond{expr: strings.Join(exprs, " && "), witness: w}
}

type flag struct {
	yaml  string
	probe *Probe
}

func newFlag(i int, segs []segment) flag {
	key := Key(i)
	r := rand.New(rand.NewPCG(0xf1a6, uint64(i)))
	var sb strings.Builder
	fmt.Fprintf(&sb, "  %s:\n", key)

	// Type and variants: name -> YAML value.
	var typ string
	var names, values []string
	switch x := r.IntN(100); {
	case x < 55:
		typ = "boolean"
		if r.IntN(5) == 0 {
			names, values = []string{"enabled", "disabled"}, []string{"true", "false"}
		}
	case x < 75:
		typ = "string"
		names = pickNames(r, 2+r.IntN(3))
		for k, nm := range names {
			switch r.IntN(3) {
			case 0:
				values = append(values, strconv.Quote(fmt.Sprintf("#%06x", r.IntN(1<<24))))
			case 1:
				values = append(values, strconv.Quote(nm+"-"+strconv.Itoa(i)+"-"+strconv.Itoa(k)))
			default:
				values = append(values, strconv.Quote("https://cdn.example.com/"+key+"/"+nm+".json"))
			}
		}
	case x < 87:
		typ = "number"
		names = pickNames(r, 2+r.IntN(3))
		seen := map[string]bool{}
		for range names {
			var v string
			for v == "" || seen[v] {
				if r.IntN(2) == 0 {
					v = strconv.Itoa(r.IntN(10000))
				} else {
					v = strconv.FormatFloat(float64(r.IntN(1000))/100, 'f', -1, 64)
				}
			}
			seen[v] = true
			values = append(values, v)
		}
	default:
		typ = "object"
		names = pickNames(r, 2+r.IntN(2))
		for k, nm := range names {
			values = append(values, fmt.Sprintf(`{"title": "%s %s %d", "limit": %d, "enabled": %t, "colors": ["#%06x", "#%06x"]}`,
				words[r.IntN(len(words))], nm, i, r.IntN(500), k != 0, r.IntN(1<<24), r.IntN(1<<24)))
		}
	}
	fmt.Fprintf(&sb, "    type: %s\n", typ)
	if r.IntN(10) < 7 {
		w := words[r.IntN(len(words))]
		fmt.Fprintf(&sb, "    description: %s %s for %s users (%s)\n", strings.ToUpper(w[:1])+w[1:],
			features[r.IntN(len(features))], plans[r.IntN(len(plans))], key)
		fmt.Fprintf(&sb, "    owner: %s\n", teams[r.IntN(len(teams))])
	}
	if r.IntN(10) < 3 {
		sb.WriteString("    clientSide: true\n")
	}
	if names == nil {
		names = []string{"off", "on"}
	} else {
		sb.WriteString("    variants:\n")
		for k, nm := range names {
			fmt.Fprintf(&sb, "      %s: %s\n", nm, values[k])
		}
	}
	def := names[r.IntN(len(names))]
	fmt.Fprintf(&sb, "    defaultVariant: %s\n", def)
	enabled := r.IntN(10) != 0
	fmt.Fprintf(&sb, "    environments:\n      %s:\n        enabled: %t\n", Environment, enabled)

	// serve returns the fields of a serve, in flow style ("serve: on" or
	// "split: {...}, bucketBy: accountId"), and the variant it serves ("" for
	// a split).
	serve := func() ([]string, string) {
		if len(names) >= 2 && r.IntN(3) == 0 {
			arms := make([]string, len(names))
			rest := 100
			for k, nm := range names {
				w := rest
				if k < len(names)-1 {
					w = r.IntN(rest + 1)
				}
				rest -= w
				arms[k] = nm + ": " + strconv.Itoa(w)
			}
			fields := []string{"split: {" + strings.Join(arms, ", ") + "}"}
			if r.IntN(4) == 0 {
				fields = append(fields, "bucketBy: accountId")
			}
			return fields, ""
		}
		v := names[r.IntN(len(names))]
		return []string{"serve: " + v}, v
	}

	var probe *Probe
	nRules := []int{0, 0, 0, 1, 1, 1, 2, 2, 3, 4}[r.IntN(10)]
	if nRules > 0 {
		sb.WriteString("        rules:\n")
		usedNames := map[string]bool{}
		for k := 0; k < nRules; k++ {
			name := ruleWords[r.IntN(len(ruleWords))]
			for usedNames[name] {
				name += "-" + strconv.Itoa(k)
			}
			usedNames[name] = true
			var c cond
			if r.IntN(5) == 0 {
				s := segs[r.IntN(len(segs))]
				c = cond{expr: `inSegment("` + s.name + `")`, witness: s.witness}
			} else {
				c = newCond(r, i*8+k, 1+r.IntN(2))
			}
			what, variant := serve()
			fmt.Fprintf(&sb, "          - name: %s\n            when: '%s'\n            %s\n", name, c.expr,
				strings.Join(what, "\n            "))
			if k == 0 && enabled {
				probe = &Probe{Flag: key, Context: probeContext(c.witness), RuleID: name, Variant: variant}
			}
		}
	}
	if r.IntN(10) < 4 {
		what, _ := serve()
		fmt.Fprintf(&sb, "        default: {%s}\n", strings.Join(what, ", "))
	}
	return flag{yaml: sb.String(), probe: probe}
}

// probeContext is a context with the witness attributes (a dotted path
// becomes a nested object) and a targeting key for splits.
func probeContext(w map[string]any) map[string]any {
	c := map[string]any{"targetingKey": "probe-user", "accountId": "probe-acct"}
	for k, v := range w {
		if p, rest, ok := strings.Cut(k, "."); ok {
			m, _ := c[p].(map[string]any)
			if m == nil {
				m = map[string]any{}
				c[p] = m
			}
			m[rest] = v
			continue
		}
		c[k] = v
	}
	return c
}

// pickNames returns k distinct variant names.
func pickNames(r *rand.Rand, k int) []string {
	perm := r.Perm(len(variantWords))
	out := make([]string, k)
	for j := range out {
		out[j] = variantWords[perm[j]]
	}
	return out
}

// Peer returns n copies of the peer benchmarks' F2 flag, keys
// fmt.Sprintf(keyFmt, i) (or keyFmt itself when it has no verb, for one
// flag), preceded by F1 and F3 when basics is set:
//
//	F1 boolean, no rules, on.
//	F2 string; email.endsWith("@example.com") -> internal;
//	   country in ["US", "CA"] && plan == "pro" -> pro-na; age >= 30 ->
//	   senior; otherwise a 50/50 split a/b on targetingKey.
//	F3 boolean, a 10 % rollout.
//
// With clientSide every flag is marked clientSide (for client bundles).
func Peer(basics bool, n int, keyFmt string, clientSide bool) []byte {
	var sb strings.Builder
	sb.WriteString("project: " + Project + "\nenvironments: [" + Environment + "]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	cs := ""
	if clientSide {
		cs = "    clientSide: true\n"
	}
	f2 := func(key string) {
		fmt.Fprintf(&sb, "  %s:\n    type: string\n%s"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@example.com\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"US\", \"CA\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= 30', serve: senior}\n"+
			"        default: {split: {a: 50, b: 50}}\n", key, cs)
	}
	if basics {
		sb.WriteString("  f1:\n    type: boolean\n" + cs + "    defaultVariant: on\n    environments:\n      production: {}\n")
		f2("f2")
		sb.WriteString("  f3:\n    type: boolean\n" + cs + "    environments:\n      production:\n        default: {split: {on: 10, off: 90}}\n")
	}
	for i := 0; i < n; i++ {
		key := keyFmt // a single flag may be named without a verb
		if strings.Contains(keyFmt, "%") {
			key = fmt.Sprintf(keyFmt, i)
		}
		f2(key)
	}
	return []byte(sb.String())
}

// PeerContext is the peer benchmarks' context: it fails F2's rules 1 and
// 2 and matches rule 3, so F2 walks all three.
func PeerContext() map[string]any {
	return map[string]any{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42}
}

// WriteDir writes Realistic(n) as dir/flags.yaml, a flags-as-code
// directory the CLI builds and evaluates like any other (dir must exist).
func WriteDir(dir string, n int) error {
	if n <= 0 {
		return fmt.Errorf("write flags: want a positive flag count, got %d", n)
	}
	return os.WriteFile(filepath.Join(dir, "flags.yaml"), Realistic(n).YAML, 0o644)
}
