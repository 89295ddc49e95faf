package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestLoadReportsEveryMistake loads a fixture with 25 distinct mistakes in
// three files and checks that each is reported, at its position, in order.
func TestLoadReportsEveryMistake(t *testing.T) {
	dir := filepath.Join("testdata", "mistakes")
	_, ds := Load(dir)
	a, b, c := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.json")
	want := []string{
		a + `:5:16: environments[1].protected: expected true or false, got a string`,
		a + `:6:16: environments[1].bundleTTL: invalid duration "forever"`,
		a + `:8:9: context.plan: unknown type "strng"`,
		a + `:11:3: segments.staff: a segment needs ` + "`when:` or `keys:`",
		a + `:12:5: segments.staff.wen: unknown field; did you mean "when"?`,
		a + `:13:3: segments.empty-seg: a segment needs`,
		a + `:17:5: flags.new-checkout.enviroments: unknown field; did you mean "environments"?`,
		a + `:19:11: flags.colour.type: unknown type "colour"`,
		a + `:22:21: flags.price.variants.low: expected a number value for a number flag, got a string`,
		b + `:1:10: project: "other" differs from "shop" given at ` + a + `:1:10`,
		b + `:3:3: flags.new-checkout: flag "new-checkout" defined in ` + a + `:15:3 and ` + b + `:3:3`,
		b + `:7:29: flags.banner.variants.b: expected a string value for a string flag, got an integer`,
		b + `:9:14: flags.banner.expires: expected a date YYYY-MM-DD, got "next-week"`,
		b + `:10:13: flags.banner.status: unknown status "retired"`,
		b + `:11:17: flags.banner.clientSide: expected true or false, got a string`,
		b + `:14:16: flags.banner.environments.production.rules: expected a list, got a mapping`,
		b + `:15:29: flags.banner.environments.production.default.split: give either`,
		b + `:18:13: flags.banner.environments.development.rules[0].when: missing`,
		b + `:21:24: flags.banner.environments.development.rules[1].split.a: expected an integer weight, got a number`,
		b + `:26:5: flags.theme.defaultVariant: duplicate key (first at ` + b + `:25:5)`,
		b + `:28:3: segments.staff: segment "staff" defined in ` + a + `:11:3 and ` + b + `:28:3`,
		c + `:3:30: webhooks[0].url: expected an absolute http(s) URL`,
		c + `:3:61: webhooks[0].secret: expected a secret reference`,
		c + `:3:83: webhooks[0].events: unknown event "publsh" (one of publish, rollback); did you mean "publish"?`,
		c + `:6:5: flags.limit.defaultVariant: missing`,
	}
	if len(ds) != len(want) {
		t.Errorf("got %d diagnostics, want %d:\n%s", len(ds), len(want), ds.Error())
	}
	for i, w := range want {
		if i >= len(ds) {
			t.Errorf("missing diagnostic %q", w)
			continue
		}
		if !strings.HasPrefix(ds[i].String(), w) {
			t.Errorf("diagnostic %d:\n got %s\nwant %s...", i, ds[i], w)
		}
		if ds[i].Severity != SeverityError {
			t.Errorf("diagnostic %d is a %s, want an error", i, ds[i].Severity)
		}
	}
}

func parse(t *testing.T, files ...string) (*Document, Diagnostics) {
	t.Helper()
	var fs []File
	for i := 0; i+1 < len(files); i += 2 {
		fs = append(fs, File{Name: files[i], Data: []byte(files[i+1])})
	}
	return Parse(fs)
}

func TestParseMergesAndDefaults(t *testing.T) {
	doc, ds := parse(t,
		"b.yaml", "project: shop\nenvironments: [dev, {name: prod, protected: true, bundleTTL: 24h}]\nflags:\n  b-flag: {type: boolean}\n",
		"a.yaml", "project: shop\nenvironments: [dev, {name: prod, protected: true, bundleTTL: 24h}]\ncontext: {plan: string, ok: boolean}\n"+
			"flags:\n  a-flag:\n    type: object\n    variants:\n      v: {z: 1, a: [true, null, 2.50, \"s\"]}\n    defaultVariant: v\n    environments:\n      dev: {rules: [{when: 'plan == \"x\"', split: {v: 3}, bucketBy: plan}]}\n",
	)
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	if doc.Project != "shop" || len(doc.Environments) != 2 || !doc.Environments[1].Protected || doc.Environments[1].BundleTTL != 24*time.Hour || doc.Environments[0].BundleTTL != DefaultBundleTTL {
		t.Errorf("project/environments not merged: %+v %+v", doc.Project, doc.Environments)
	}
	if len(doc.Flags) != 2 || doc.Flags[0].Key != "a-flag" || doc.Flags[1].Key != "b-flag" {
		t.Fatalf("flags not merged and sorted: %v", doc.Flags)
	}
	if got := string(doc.Flags[0].Variants[0].Value); got != `{"a":[true,null,2.5,"s"],"z":1}` {
		t.Errorf("canonical object value = %s", got)
	}
	bf := doc.Flags[1]
	if !bf.ImplicitVariants || bf.Type != ir.TypeBoolean || len(bf.Variants) != 2 || bf.Variants[0].Name != "on" || string(bf.Variants[0].Value) != "true" || bf.DefaultVariant.Name != "off" {
		t.Errorf("implicit boolean variants/defaults wrong: %+v", bf)
	}
	if !doc.HasContext || len(doc.Context) != 2 || doc.Context[0].Name != "ok" || doc.Context[0].Type != AttrBool {
		t.Errorf("context = %+v", doc.Context)
	}
	fe := doc.Flags[0].Environments[0]
	if !fe.Enabled || len(fe.Rules) != 1 || fe.Rules[0].Serve.BucketBy != "plan" || fe.Rules[0].Serve.Split[0].Weight != 3 {
		t.Errorf("env block = %+v", fe)
	}
}

func TestParseConflictingSections(t *testing.T) {
	_, ds := parse(t,
		"a.yaml", "project: shop\nenvironments: [dev]\ncontext: {plan: string}\n",
		"b.yaml", "project: shop\nenvironments: [dev, prod]\ncontext: {plan: number}\nwebhooks: [{name: w, url: 'https://x.example', secret: 'env:S'}, {name: w, url: 'https://y.example', secret: 'file:/s'}]\n",
	)
	for _, w := range []string{
		"b.yaml:2:1: environments: differs from the environments given at a.yaml:2:1",
		"b.yaml:3:1: context: differs from the context given at a.yaml:3:1",
		`b.yaml:4:66: webhooks[1]: webhook "w" defined in b.yaml:4:12 and b.yaml:4:66`,
	} {
		if !strings.Contains(ds.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, ds.Error())
		}
	}
}

func TestParseSyntaxAndShapeErrors(t *testing.T) {
	_, ds := parse(t,
		"a.yaml", "project: [shop\n",
		"b.yaml", "- just\n- a list\n",
		"c.yaml", "projekt: shop\n",
		"d.yaml", "project: shop\n---\nproject: shop\n",
	)
	for _, w := range []string{
		"a.yaml:1:1: syntax error: did not find expected ',' or ']'",
		"b.yaml:1:1: expected a mapping, got a list",
		`c.yaml:1:1: projekt: unknown field; did you mean "project"?`,
		"d.yaml:2:1: a config file holds one YAML document",
	} {
		if !strings.Contains(ds.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, ds.Error())
		}
	}
}

// TestExprPosAt checks that expression-relative positions land on the right
// file column for plain, quoted (with escapes) and block scalars.
func TestExprPosAt(t *testing.T) {
	src := "project: p\nenvironments: [e]\nsegments:\n" +
		"  plain: {when: a == 1}\n" +
		"  single:\n    when: 'x == ''it''s'' && y'\n" +
		"  double:\n    when: \"s == \\\"\\u00e9\\\" && y\"\n" +
		"  block:\n    when: |\n      a == 1 &&\n        y\n" +
		"  folded:\n    when: >-\n      a == 1\n      && y\n"
	doc, ds := parse(t, "f.yaml", src)
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	segs := map[string]*Segment{}
	for _, s := range doc.Segments {
		segs[s.Name] = s
	}
	cases := []struct {
		seg          string
		line, col    int // within the expression
		wantL, wantC int // in the file
	}{
		{"plain", 1, 6, 4, 22},
		{"single", 1, 16, 6, 30}, // y after 'it''s'
		{"double", 1, 13, 8, 31}, // y after \"\u00e9\"
		{"block", 2, 3, 12, 9},
		{"folded", 1, 11, 16, 10},
	}
	for _, c := range cases {
		e := segs[c.seg].When
		got := e.PosAt(c.line, c.col)
		if got.Line != c.wantL || got.Col != c.wantC || got.File != "f.yaml" {
			t.Errorf("%s %q: PosAt(%d,%d) = %v, want f.yaml:%d:%d", c.seg, e.Src, c.line, c.col, got, c.wantL, c.wantC)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"environments", "enabled", "rules", "default"}
	for in, want := range map[string]string{"enviroments": "environments", "rule": "rules", "xyz": "", "defualt": "default"} {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestObjectFlagValues checks that object flags take mappings and lists and
// refuse scalars and null at the value's position (a bundle carrying them
// would be refused by the engine's validator).
func TestObjectFlagValues(t *testing.T) {
	doc, ds := parse(t, "f.yaml", `project: p
environments: [prod]
flags:
  cfg:
    type: object
    defaultVariant: a
    variants:
      a: {limit: 10, tags: [x, y]}
      b: [1, 2]
      c: 7
      d: null
      e: "text"
`)
	for _, w := range []string{
		"f.yaml:10:10: flags.cfg.variants.c: expected a mapping or a list for an object flag",
		"f.yaml:11:10: flags.cfg.variants.d: expected a mapping or a list for an object flag",
		"f.yaml:12:10: flags.cfg.variants.e: expected a mapping or a list for an object flag",
	} {
		if !strings.Contains(ds.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, ds.Error())
		}
	}
	if n := len(ds.Errors()); n != 3 {
		t.Errorf("%d errors, want 3:\n%s", n, ds.Error())
	}
	f := doc.Flag("cfg")
	if f == nil || len(f.Variants) != 2 {
		t.Fatalf("flag cfg: %+v", f)
	}
	if got := string(f.Variants[0].Value); got != `{"limit":10,"tags":["x","y"]}` {
		t.Errorf("variant a = %s", got)
	}
	if got := string(f.Variants[1].Value); got != `[1,2]` {
		t.Errorf("variant b = %s", got)
	}
}
