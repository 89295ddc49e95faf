package compile

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// lintBase is a small valid document that the cases below extend with one
// mistake each (in f.yaml, so positions are easy to read).
const lintBase = `project: shop
environments: [dev, prod]
context: {plan: string, age: number, accountId: string, beta: bool}
segments:
  staff: {when: 'plan == "staff"'}
`

func lintDoc(t *testing.T, extra string) *config.Document {
	t.Helper()
	doc, ds := config.Parse([]config.File{{Name: "base.yaml", Data: []byte(lintBase)}, {Name: "f.yaml", Data: []byte(extra)}})
	if len(ds) != 0 {
		t.Fatalf("fixture does not load:\n%s", ds.Error())
	}
	return doc
}

func TestLintCleanBase(t *testing.T) {
	doc := lintDoc(t, "flags:\n  ok: {type: boolean, environments: {prod: {rules: [{when: 'inSegment(\"staff\")', serve: on}]}}}\n")
	if ds := Lint(doc, LintOptions{Now: lintNow}); len(ds) != 0 {
		t.Errorf("clean document has diagnostics:\n%s", ds.Error())
	}
}

// TestLintRules has one case per lint rule; each asserts the diagnostic
// (position, field path, message) that only that rule produces.
func TestLintRules(t *testing.T) {
	cases := []struct {
		name, yaml string
		opts       LintOptions
		want       []string
		warning    bool
	}{
		{name: "undefined defaultVariant and offVariant",
			yaml: "flags:\n  f:\n    type: string\n    variants: {a: x, b: y}\n    defaultVariant: c\n    offVariant: bb\n",
			want: []string{`f.yaml:5:21: flags.f.defaultVariant: undefined variant "c" (variants: a, b)`, `f.yaml:6:17: flags.f.offVariant: undefined variant "bb" (variants: a, b); did you mean "b"?`}},
		{name: "undefined serve and split arm",
			yaml: "flags:\n  f:\n    type: boolean\n    environments:\n      prod:\n        rules: [{when: 'age > 1', serve: onn}]\n        default: {split: {on: 1, of: 1}}\n",
			want: []string{`f.yaml:6:42: flags.f.environments.prod.rules[0].serve: undefined variant "onn" (variants: on, off); did you mean "on"?`, `f.yaml:7:34: flags.f.environments.prod.default.split.of: undefined variant "of"`}},
		{name: "undefined segment and flag in expressions",
			yaml: "flags:\n  f:\n    type: boolean\n    environments:\n      prod:\n        rules: [{when: 'inSegment(\"stafff\") || variant(\"nope\") == \"on\"', serve: on}]\n",
			want: []string{`f.yaml:6:35: flags.f.environments.prod.rules[0].when: unknown segment "stafff"`, `f.yaml:6:56: flags.f.environments.prod.rules[0].when: unknown flag "nope"`}},
		{name: "prerequisite cycle",
			yaml: "flags:\n  a:\n    type: boolean\n    environments: {prod: {rules: [{when: 'variant(\"b\") == \"on\"', serve: on}]}}\n" +
				"  b:\n    type: boolean\n    environments: {prod: {rules: [{when: 'inSegment(\"s\")', serve: on}]}}\n" +
				"segments:\n  s: {when: 'variant(\"a\") == \"off\"'}\n",
			want: []string{`f.yaml:2:3: flags.a: reference cycle: flag "a" -> flag "b" -> segment "s" -> flag "a"`}},
		{name: "unreachable rule",
			yaml: "flags:\n  f:\n    type: boolean\n    environments:\n      prod:\n        rules:\n          - {when: 'true', serve: on}\n          - {when: 'age > 3', serve: off}\n",
			want: []string{`f.yaml:8:13: flags.f.environments.prod.rules[1]: unreachable: rule 1 always matches`}},
		{name: "always-false rule",
			yaml: "flags:\n  f:\n    type: boolean\n    environments:\n      prod:\n        rules:\n          - {when: 'false', serve: on}\n",
			want: []string{`f.yaml:7:20: flags.f.environments.prod.rules[0].when: warning: condition is always false`}, warning: true},
		{name: "all-zero split",
			yaml: "flags:\n  f:\n    type: boolean\n    environments: {prod: {default: {split: {on: 0, off: 0}}}}\n",
			want: []string{`f.yaml:4:44: flags.f.environments.prod.default.split: all weights are zero`}},
		{name: "negative weight",
			yaml: "flags:\n  f:\n    type: boolean\n    environments: {prod: {default: {split: {on: -5, off: 10}}}}\n",
			want: []string{`f.yaml:4:45: flags.f.environments.prod.default.split.on: negative weight -5`}},
		{name: "attribute not in context",
			yaml: "flags:\n  f:\n    type: boolean\n    environments: {prod: {rules: [{when: 'country == \"US\"', split: {on: 1}, bucketBy: deviceId}]}}\n" +
				"segments:\n  k: {attribute: userId, keys: [a]}\n",
			want: []string{`f.yaml:4:42: flags.f.environments.prod.rules[0].when: attribute "country" is not declared`, `f.yaml:4:87: flags.f.environments.prod.rules[0].bucketBy: attribute "deviceId" is not declared`, `f.yaml:6:18: segments.k.attribute: attribute "userId" is not declared`}},
		{name: "type error against context",
			yaml: "flags:\n  f:\n    type: boolean\n    environments:\n      prod:\n        rules:\n          - when: |\n              plan == \"pro\" &&\n                age == \"old\"\n            serve: on\n",
			want: []string{`f.yaml:9:21: flags.f.environments.prod.rules[0].when: age == "old": cannot compare number with string`}},
		{name: "expired flag warns",
			yaml: "flags:\n  f: {type: boolean, expires: 2026-11-20}\n",
			opts: LintOptions{Now: lintNow},
			want: []string{`f.yaml:2:31: flags.f.expires: warning: flag expired on 2026-11-20`}, warning: true},
		{name: "expired flag fails with strict",
			yaml: "flags:\n  f: {type: boolean, expires: 2026-11-20}\n",
			opts: LintOptions{Now: lintNow, Strict: true},
			want: []string{`f.yaml:2:31: flags.f.expires: flag expired on 2026-11-20`}},
		{name: "keys not URL-safe",
			yaml: "flags:\n  new checkout:\n    type: string\n    variants: {\"a/b\": x}\n    defaultVariant: a/b\n    environments: {prod: {rules: [{name: 'my rule', when: 'age > 1', serve: a/b}]}}\n" +
				"segments:\n  \"s?\": {keys: [x]}\n",
			want: []string{`f.yaml:2:3: flags.new checkout: flag key "new checkout" is not URL-safe`, `f.yaml:4:16: flags.new checkout.variants.a/b: variant name "a/b" is not URL-safe`, `f.yaml:6:42: flags.new checkout.environments.prod.rules[0].name: rule name "my rule" is not URL-safe`, `f.yaml:8:3: segments.s?: segment name "s?" is not URL-safe`}},
		{name: "environment not declared",
			yaml: "flags:\n  f: {type: boolean, environments: {production: {enabled: true}}}\nwebhooks: [{name: w, url: 'https://h.example', secret: 'env:X', environments: [staging]}]\n",
			want: []string{`f.yaml:2:37: flags.f.environments.production: environment "production" is not declared`, `f.yaml:3:80: webhooks.w.environments: environment "staging" is not declared`}},
		{name: "bucketBy of a non-string type",
			yaml: "flags:\n  f: {type: boolean, environments: {prod: {default: {split: {on: 1}, bucketBy: beta}}}}\n",
			want: []string{`f.yaml:2:80: flags.f.environments.prod.default.bucketBy: attribute "beta" is declared as bool; bucketing and key lists need a string or number`}},
		{name: "client flag depends on server flag",
			yaml: "flags:\n  srv: {type: boolean}\n  cli:\n    type: boolean\n    clientSide: true\n    environments: {prod: {rules: [{when: 'variant(\"srv\") == \"on\"', serve: on}]}}\n",
			want: []string{`f.yaml:6:42: flags.cli.environments.prod.rules[0].when: client-side flag "cli" depends on flag "srv", which is not clientSide`}},
		{name: "duplicate rule names",
			yaml: "flags:\n  f:\n    type: boolean\n    environments: {prod: {rules: [{name: r, when: 'age > 1', serve: on}, {name: r, when: 'age > 2', serve: on}]}}\n",
			want: []string{`f.yaml:4:81: flags.f.environments.prod.rules[1].name: rule name "r" used twice in this environment (first at f.yaml:4:42)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := lintDoc(t, c.yaml)
			opts := c.opts
			if opts.Now.IsZero() {
				opts.Now = lintNow
			}
			ds := Lint(doc, opts)
			text := ds.Error()
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing\n  %s\nin\n%s", w, text)
				}
			}
			if ds.HasErrors() == c.warning {
				t.Errorf("HasErrors = %v, want %v:\n%s", ds.HasErrors(), !c.warning, text)
			}
		})
	}
}

func TestLintExpiryBoundary(t *testing.T) {
	doc := lintDoc(t, "flags:\n  f: {type: boolean, expires: 2026-11-21}\n")
	if ds := Lint(doc, LintOptions{Now: lintNow, Strict: true}); len(ds) != 0 {
		t.Errorf("flag expiring today reported: %s", ds.Error())
	}
	if ds := Lint(doc, LintOptions{Now: lintNow.Add(24 * time.Hour), Strict: true}); !ds.HasErrors() {
		t.Errorf("flag past its expiry day not reported")
	}
}

func TestBuildRejectsClientDependencyAndCycles(t *testing.T) {
	doc := lintDoc(t, "flags:\n  srv: {type: boolean}\n  cli:\n    type: boolean\n    clientSide: true\n    environments: {prod: {rules: [{when: 'variant(\"srv\") == \"on\"', serve: on}]}}\n")
	if b, ds := Build(doc, "prod", ir.AudienceClient); b != nil || !strings.Contains(ds.Error(), `depends on flag "srv"`) {
		t.Errorf("client build with a server-only prerequisite: bundle=%v diags=%s", b != nil, ds.Error())
	}
	if b, ds := Build(doc, "prod", ir.AudienceServer); b == nil || ds.HasErrors() {
		t.Errorf("server build failed: %s", ds.Error())
	}
	doc = lintDoc(t, "flags:\n  a:\n    type: boolean\n    environments: {prod: {rules: [{when: 'variant(\"a\") == \"on\"', serve: on}]}}\n")
	if b, ds := Build(doc, "prod", ir.AudienceServer); b != nil || !strings.Contains(ds.Error(), `reference cycle: flag "a" -> flag "a"`) {
		t.Errorf("self-cycle: bundle=%v diags=%s", b != nil, ds.Error())
	}
	if b, ds := Build(doc, "dev", ir.AudienceServer); b == nil || ds.HasErrors() {
		t.Errorf("environment without the cycle failed: %s", ds.Error())
	}
}

// Names become store paths and URL segments: ".", "..", a leading dot or
// tilde are lint errors at the place they were written, for every kind of
// name, by the same rule the stores apply.
func TestLintPathNames(t *testing.T) {
	src := "project: ..\n" +
		"environments: [., .hidden, ~prod, ok]\n" +
		"segments:\n  ..: {keys: [x]}\n" +
		"flags:\n  .f: {type: boolean}\n  ~g: {type: boolean}\n  \"" + strings.Repeat("x", 129) + "\": {type: boolean}\n"
	doc, ds := config.Parse([]config.File{{Name: "f.yaml", Data: []byte(src)}})
	if ds.HasErrors() {
		t.Fatalf("load: %s", ds.Error())
	}
	got := Lint(doc, LintOptions{}).Error()
	for _, want := range []string{
		`f.yaml:1:10: project: project name ".." must not start with '.'`,
		`f.yaml:2:16: environments[0]: environment name "." must not start with '.'`,
		`f.yaml:2:19: environments[1]: environment name ".hidden" must not start with '.'`,
		`f.yaml:2:28: environments[2]: environment name "~prod" must not start with '~'`,
		`f.yaml:4:3: segments...: segment name ".." must not start with '.'`,
		`f.yaml:6:3: flags..f: flag key ".f" must not start with '.'`,
		`f.yaml:7:3: flags.~g: flag key "~g" must not start with '~'`,
		`f.yaml:8:3: flags.xxxx`, `is longer than 128 bytes`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"ok"`) {
		t.Errorf("a valid environment name reported:\n%s", got)
	}
}

// Strings longer than a verifier decodes are build errors at the place the
// string was written, so validate, build and publish report them alike.
func TestBuildReportsOversizeStrings(t *testing.T) {
	long := strings.Repeat("k", ir.DefaultLimits().MaxStringLen+1)
	src := "project: p\nenvironments: [dev]\nsegments:\n  s:\n    keys: [short, " + long + "]\nflags:\n  f:\n    type: boolean\n    description: " + long + "\n"
	doc, ds := config.Parse([]config.File{{Name: "f.yaml", Data: []byte(src)}})
	if ds.HasErrors() {
		t.Fatalf("load: %s", ds.Error())
	}
	b, ds := Build(doc, "dev", ir.AudienceServer)
	got := ds.Error()
	for _, want := range []string{
		"f.yaml:5:11: segments.s.keys: a segment key is 1048577 bytes; verifiers accept strings of at most 1048576 bytes",
		"f.yaml:7:3: flags.f.description: the description is 1048577 bytes; verifiers accept strings of at most 1048576 bytes",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("build lacks %q:\n%s", want, got)
		}
	}
	if b != nil {
		t.Error("a bundle was built")
	}
	// The client bundle carries neither (no client flags, keys as digests).
	if b, ds := Build(doc, "dev", ir.AudienceClient); b == nil || ds.HasErrors() {
		t.Errorf("client build: %s", ds.Error())
	}
}
