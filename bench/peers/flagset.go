// Package peers benchmarks the evaluation engines edgeflag compares itself
// with — LaunchDarkly's evaluator, flagd's core and GO Feature Flag (its
// engine module and its Go SDK) — on the peer flag set, each written in
// the engine's own configuration format and loaded through the engine's
// own parser. The flag set is the one edgeflag's benchmarks compile from
// flags-as-code YAML (bundle/eval/peer_bench_test.go), so the two runs'
// figures compare by ratio.
//
// The flag set:
//
//	f1        boolean, no rules, serves true.
//	f2        string, three rules in order:
//	            r-internal  email ends with "@example.com"       -> "internal"
//	            r-pro-na    country in [US, CA] and plan == "pro" -> "pro-na"
//	            r-senior    age >= 30                             -> "senior"
//	          otherwise a 50/50 split between "a" and "b" on the user key.
//	f3        boolean, true for 10 % of user keys.
//	f2_NNN    copies of f2 (100 for F100all; 1 000 and 10 000 for the loads).
//
// This file only writes the engines' documents; the engines are driven by
// the tests and benchmarks of this package (README.md).
package peers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The constants of f2's rules and of the splits, shared by every engine's
// document.
const (
	internalSuffix = "@example.com"
	proPlan        = "pro"
	seniorAge      = 30
	f3OnPercent    = 10
)

// proCountries is the country list of f2's second rule.
var proCountries = []string{"US", "CA"}

// f2Variants are f2's variants in the order its rules serve them, then
// the two halves of its split.
var f2Variants = []string{"internal", "pro-na", "senior", "a", "b"}

// Attrs is an evaluation context independent of the engines: the user key
// under "targetingKey" and the other attributes by name (strings and
// ints).
type Attrs map[string]any

// PeerContext is the context every benchmark evaluates with: it fails
// f2's first two rules and matches the third, so f2 walks all three and
// serves "senior".
func PeerContext() Attrs {
	return Attrs{"targetingKey": "user-123", "email": "bob@other.org", "country": "FR", "plan": "free", "age": 42}
}

// Set says which flags one document holds: f1, f2 and f3 when Basics,
// and Copies copies of f2 named Key(0) … Key(Copies-1).
type Set struct {
	Basics bool
	Copies int
	Key    func(int) string
}

// BulkKey names the copies of F100all: f2_000 … f2_099.
func BulkKey(i int) string { return fmt.Sprintf("f2_%03d", i) }

// LoadKey names the copies of the load benchmarks: f2_00000 … .
func LoadKey(i int) string { return fmt.Sprintf("f2_%05d", i) }

// The documents the benchmarks load.
var (
	BasicSet = Set{Basics: true}
	BulkSet  = Set{Copies: 100, Key: BulkKey}
)

// LoadSet is the document of n copies of f2 that the loads measure.
func LoadSet(n int) Set { return Set{Copies: n, Key: LoadKey} }

// each calls f2 for every copy's key and, for the basics, f1, f2 and f3
// with the flag's own key.
func (s Set) each(f1, f2, f3 func(key string)) {
	if s.Basics {
		f1("f1")
		f2("f2")
		f3("f3")
	}
	for i := 0; i < s.Copies; i++ {
		f2(s.Key(i))
	}
}

// f2VariantValues maps each of f2's variants to its value, its own name.
func f2VariantValues() map[string]any {
	m := make(map[string]any, len(f2Variants))
	for _, v := range f2Variants {
		m[v] = v
	}
	return m
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func marshalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode peer document: %v", err)) // only maps, slices and structs of plain values
	}
	return b
}

// ---- LaunchDarkly: the flag data model as LD's data stream sends it ----

type ldFlag struct {
	Key          string   `json:"key"`
	Version      int      `json:"version"`
	On           bool     `json:"on"`
	Salt         string   `json:"salt"`
	Variations   []any    `json:"variations"`
	OffVariation int      `json:"offVariation"`
	Rules        []ldRule `json:"rules,omitempty"`
	Fallthrough  ldServe  `json:"fallthrough"`
}

type ldRule struct {
	ID        string     `json:"id"`
	Variation int        `json:"variation"`
	Clauses   []ldClause `json:"clauses"`
}

type ldClause struct {
	ContextKind string `json:"contextKind"`
	Attribute   string `json:"attribute"`
	Op          string `json:"op"`
	Values      []any  `json:"values"`
}

type ldServe struct {
	Variation *int       `json:"variation,omitempty"`
	Rollout   *ldRollout `json:"rollout,omitempty"`
}

type ldRollout struct {
	Variations []ldWeighted `json:"variations"`
}

// ldWeighted is one bucket of a rollout; weights are in thousandths of a
// percent (100 000 in all).
type ldWeighted struct {
	Variation int `json:"variation"`
	Weight    int `json:"weight"`
}

func ldUser(attr, op string, values ...any) ldClause {
	return ldClause{ContextKind: "user", Attribute: attr, Op: op, Values: values}
}

func ldSplit(first, firstPercent, second int) ldServe {
	return ldServe{Rollout: &ldRollout{Variations: []ldWeighted{
		{Variation: first, Weight: firstPercent * 1000},
		{Variation: second, Weight: (100 - firstPercent) * 1000},
	}}}
}

// LDDocument returns s as {"flags": {...}, "segments": {}}.
func LDDocument(s Set) []byte {
	flags := map[string]ldFlag{}
	boolFlag := func(key string, serve ldServe) ldFlag {
		return ldFlag{Key: key, Version: 1, On: true, Salt: key, Variations: []any{true, false}, OffVariation: 1, Fallthrough: serve}
	}
	first := 0
	s.each(
		func(k string) { flags[k] = boolFlag(k, ldServe{Variation: &first}) },
		func(k string) {
			flags[k] = ldFlag{Key: k, Version: 1, On: true, Salt: k, Variations: anyList(f2Variants), OffVariation: 3,
				Rules: []ldRule{
					{ID: "r-internal", Variation: 0, Clauses: []ldClause{ldUser("email", "endsWith", internalSuffix)}},
					{ID: "r-pro-na", Variation: 1, Clauses: []ldClause{ldUser("country", "in", anyList(proCountries)...), ldUser("plan", "in", proPlan)}},
					{ID: "r-senior", Variation: 2, Clauses: []ldClause{ldUser("age", "greaterThanOrEqual", seniorAge)}},
				},
				Fallthrough: ldSplit(3, 50, 4)}
		},
		func(k string) { flags[k] = boolFlag(k, ldSplit(0, f3OnPercent, 1)) },
	)
	return marshalJSON(map[string]any{"flags": flags, "segments": map[string]any{}})
}

// ---- flagd: flag definitions with JSONLogic targeting ----

type flagdFlag struct {
	State          string         `json:"state"`
	Variants       map[string]any `json:"variants"`
	DefaultVariant string         `json:"defaultVariant"`
	Targeting      any            `json:"targeting,omitempty"`
}

type jl = map[string]any // one JSONLogic operation

func flagdVar(name string) jl { return jl{"var": name} }

// flagdFractional splits on flagd's default bucketing value (the flag key
// and the targeting key).
func flagdFractional(first string, firstPercent int, second string) jl {
	return jl{"fractional": []any{[]any{first, firstPercent}, []any{second, 100 - firstPercent}}}
}

// FlagdDocument returns s as a flagd flag-definition document.
func FlagdDocument(s Set) string {
	flags := map[string]flagdFlag{}
	onOff := map[string]any{"on": true, "off": false}
	s.each(
		func(k string) { flags[k] = flagdFlag{State: "ENABLED", Variants: onOff, DefaultVariant: "on"} },
		func(k string) {
			flags[k] = flagdFlag{State: "ENABLED", Variants: f2VariantValues(), DefaultVariant: "a",
				Targeting: jl{"if": []any{
					jl{"ends_with": []any{flagdVar("email"), internalSuffix}}, "internal",
					jl{"and": []any{
						jl{"in": []any{flagdVar("country"), anyList(proCountries)}},
						jl{"==": []any{flagdVar("plan"), proPlan}},
					}}, "pro-na",
					jl{">=": []any{flagdVar("age"), seniorAge}}, "senior",
					flagdFractional("a", 50, "b"),
				}}}
		},
		func(k string) {
			flags[k] = flagdFlag{State: "ENABLED", Variants: onOff, DefaultVariant: "off",
				Targeting: flagdFractional("on", f3OnPercent, "off")}
		},
	)
	return string(marshalJSON(map[string]any{"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": flags}))
}

// ---- GO Feature Flag: its flag file (query language of nikunjy/rules) ----

type goffFlag struct {
	Variations  map[string]any `json:"variations" yaml:"variations"`
	Targeting   []goffRule     `json:"targeting,omitempty" yaml:"targeting,omitempty"`
	DefaultRule goffServe      `json:"defaultRule" yaml:"defaultRule"`
}

type goffRule struct {
	Name      string `json:"name" yaml:"name"`
	Query     string `json:"query" yaml:"query"`
	Variation string `json:"variation" yaml:"variation"`
}

type goffServe struct {
	Variation  string         `json:"variation,omitempty" yaml:"variation,omitempty"`
	Percentage map[string]int `json:"percentage,omitempty" yaml:"percentage,omitempty"`
}

// GOFFJSON returns s as a GO Feature Flag flag file in JSON.
func GOFFJSON(s Set) []byte { return marshalJSON(goffFlags(s)) }

// GOFFYAML returns s as a GO Feature Flag flag file in YAML (GOFF's
// default format).
func GOFFYAML(s Set) []byte {
	b, err := yaml.Marshal(goffFlags(s))
	if err != nil {
		panic(fmt.Sprintf("encode peer document: %v", err)) // only maps, slices and structs of plain values
	}
	return b
}

func goffFlags(s Set) map[string]goffFlag {
	flags := map[string]goffFlag{}
	onOff := map[string]any{"on": true, "off": false}
	quoted := make([]string, len(proCountries))
	for i, c := range proCountries {
		quoted[i] = strconv.Quote(c)
	}
	s.each(
		func(k string) { flags[k] = goffFlag{Variations: onOff, DefaultRule: goffServe{Variation: "on"}} },
		func(k string) {
			flags[k] = goffFlag{Variations: f2VariantValues(),
				Targeting: []goffRule{
					{Name: "r-internal", Query: "email ew " + strconv.Quote(internalSuffix), Variation: "internal"},
					{Name: "r-pro-na", Query: "(country in [" + strings.Join(quoted, ",") + "]) and (plan eq " + strconv.Quote(proPlan) + ")", Variation: "pro-na"},
					{Name: "r-senior", Query: "age ge " + strconv.Itoa(seniorAge), Variation: "senior"},
				},
				DefaultRule: goffServe{Percentage: map[string]int{"a": 50, "b": 50}}}
		},
		func(k string) {
			flags[k] = goffFlag{Variations: onOff, DefaultRule: goffServe{Percentage: map[string]int{"on": f3OnPercent, "off": 100 - f3OnPercent}}}
		},
	)
	return flags
}
