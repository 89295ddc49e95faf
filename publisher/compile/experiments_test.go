package compile

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/experiment"
)

// expFlags has a flag split in prod (c/t1/t2 and a holdout), served a
// fixed variant in dev, and disabled elsewhere.
const expFlags = `flags:
  color:
    type: string
    variants: {c: "grey", t1: "green", t2: "orange", hold: "grey"}
    defaultVariant: c
    environments:
      prod:
        rules: [{when: 'plan == "pro"', split: {c: 40, t1: 20, t2: 20, hold: 20}}]
      dev: {default: {serve: t1}}
  old:
    type: boolean
    status: archived
    environments: {prod: {default: {split: {on: 1, off: 1}}}}
  off-flag:
    type: boolean
    environments: {prod: {enabled: false, default: {split: {on: 1, off: 1}}}}
`

const goodExp = `experiments:
  color-test:
    flag: color
    environment: prod
    control: c
    treatments: [t1, t2]
    conversions: [purchase, "sign up"]
    start: 2026-12-01T00:00:00Z
    end: 2026-12-15T12:00:00+01:00
`

func TestExperimentLoadsAndCompiles(t *testing.T) {
	doc := lintDoc(t, expFlags+goodExp)
	if ds := Lint(doc, LintOptions{Now: lintNow}); len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", ds.Error())
	}
	x := doc.Experiments[0]
	want := experiment.Definition{Key: "color-test", Flag: "color", Environment: "prod", Control: "c", Treatments: []string{"t1", "t2"},
		Conversions: []string{"purchase", "sign up"}, Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 12, 15, 11, 0, 0, 0, time.UTC), MinimumSample: config.DefaultMinimumSample}
	if got := Definition(x); got.Key != want.Key || !got.End.Equal(want.End) || strings.Join(got.Conversions, "|") != "purchase|sign up" ||
		got.MinimumSample != 100 || strings.Join(got.Treatments, ",") != "t1,t2" {
		t.Fatalf("%+v", got)
	}
	// The prod server bundle carries it; the client bundle and dev do not.
	for _, c := range []struct {
		env string
		aud ir.Audience
		has bool
	}{{"prod", ir.AudienceServer, true}, {"prod", ir.AudienceClient, false}, {"dev", ir.AudienceServer, false}} {
		b, ds := Build(doc, c.env, c.aud)
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		d, ok, err := experiment.Find(b, c.env, "color-test")
		if err != nil || ok != c.has {
			t.Fatalf("%s %v: found %v, %v", c.env, c.aud, ok, err)
		}
		if ok {
			if !d.End.Equal(want.End) || d.Control != "c" || d.MinimumSample != 100 {
				t.Fatalf("from the bundle: %+v", d)
			}
			// The split holds out `hold`: the shares are over c, t1, t2.
			if s, ok := experiment.Shares(b, &d); !ok || len(s) != 3 || s[0] != 0.5 || s[1] != 0.25 {
				t.Fatalf("shares %v %v", s, ok)
			}
			// The bundle round-trips through the codec with it.
			data, err := ir.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ir.Decode(data, ir.DefaultLimits()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestExperimentLint(t *testing.T) {
	exp := func(fields string) string {
		return "experiments:\n  e:\n" + fields
	}
	base := "    flag: color\n    environment: prod\n    control: c\n    treatments: [t1, t2]\n    conversions: [purchase]\n    start: 2026-12-01T00:00:00Z\n    end: 2026-12-15T00:00:00Z\n"
	with := func(old, new string) string { return exp(strings.Replace(base, old, new, 1)) }
	cases := []struct{ name, yaml, want string }{
		{"unknown flag", with("flag: color", "flag: colour"), `f.yaml:19:11: experiments.e.flag: unknown flag "colour"; did you mean "color"?`},
		{"archived flag", with("flag: color", "flag: old"), `experiments.e.flag: flag "old" is archived: it is in no bundle`},
		{"undeclared environment", with("environment: prod", "environment: production"), `f.yaml:20:18: experiments.e.environment: environment "production" is not declared in ` + "`environments:`"},
		{"undefined control", with("control: c", "control: cc"), `f.yaml:21:14: experiments.e.control: undefined variant "cc" of flag "color" (variants: c, t1, t2, hold); did you mean "c"?`},
		{"control among treatments", with("treatments: [t1, t2]", "treatments: [t1, c]"), `experiments.e.treatments[1]: variant "c" is listed twice`},
		{"no split", with("environment: prod", "environment: dev"), `flag "color" has no split in "dev" that serves all of c, t1, t2`},
		{"not in the split", with("treatments: [t1, t2]", "treatments: [t1, t2, hold]") + "", ""},
		{"disabled", exp(strings.NewReplacer("flag: color", "flag: off-flag", "control: c", "control: off", "treatments: [t1, t2]", "treatments: [on]").Replace(base)),
			`flag "off-flag" is disabled in "prod"`},
		{"end before start", with("end: 2026-12-15T00:00:00Z", "end: 2026-11-15T00:00:00Z"), `f.yaml:25:10: experiments.e.end: end 2026-11-15T00:00:00Z is not after start 2026-12-01T00:00:00Z`},
		{"comma in a conversion", with("conversions: [purchase]", "conversions: [\"a,b\"]"), `experiments.e.conversions[0]: event name "a,b" contains a comma`},
		{"key charset", strings.Replace(with("", ""), "  e:", "  \"e x\":", 1), `experiment key "e x" is not URL-safe`},
		{"two on one flag", with("", "") + "  e2:\n" + base, `flag "color" already has experiment "e" in "prod"`},
	}
	for _, c := range cases {
		doc := lintDoc(t, expFlags+c.yaml)
		ds := Lint(doc, LintOptions{Now: lintNow})
		got := ds.Error()
		if c.want == "" {
			if len(ds) != 0 {
				t.Errorf("%s: unexpected diagnostics:\n%s", c.name, got)
			}
			continue
		}
		if !strings.Contains(got, c.want) || len(ds) != 1 {
			t.Errorf("%s: diagnostics\n%s\nwant only %s", c.name, got, c.want)
		}
		// Build refuses the environment of a broken experiment.
		if strings.Contains(c.yaml, "environment: prod") && !strings.Contains(c.name, "undeclared") {
			if _, bds := Build(doc, "prod", ir.AudienceServer); !bds.HasErrors() {
				t.Errorf("%s: prod builds with a broken experiment", c.name)
			}
		}
	}
}

func TestExperimentLoadErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "experiments:\n  e: {flag: f, environmnet: prod}\n", `f.yaml:2:16: experiments.e.environmnet: unknown field; did you mean "environment"?`},
		{"missing fields", "experiments:\n  e: {flag: f}\n", "experiments.e.environment: missing"},
		{"date without time", "experiments:\n  e: {start: 2026-12-01}\n", `experiments.e.start: expected an RFC 3339 time with a zone, e.g. 2026-12-01T00:00:00Z, got "2026-12-01"`},
		{"negative sample", "experiments:\n  e: {minimumSample: -3}\n", "experiments.e.minimumSample: expected a whole number of units"},
		{"string sample", "experiments:\n  e: {minimumSample: many}\n", "experiments.e.minimumSample: expected a whole number of units"},
		{"empty treatments", "experiments:\n  e: {treatments: []}\n", "experiments.e.treatments: must list at least one"},
	}
	for _, c := range cases {
		_, ds := config.Parse([]config.File{{Name: "base.yaml", Data: []byte(lintBase)}, {Name: "f.yaml", Data: []byte(c.yaml)}})
		if !strings.Contains(ds.Error(), c.want) {
			t.Errorf("%s: diagnostics\n%s\nwant %s", c.name, ds.Error(), c.want)
		}
	}
	// The same key in two files names both.
	_, ds := config.Parse([]config.File{{Name: "base.yaml", Data: []byte(lintBase + goodExp)}, {Name: "f.yaml", Data: []byte(goodExp)}})
	if !strings.Contains(ds.Error(), `experiment "color-test" defined in base.yaml:7:3 and f.yaml:2:3`) {
		t.Errorf("duplicate: %s", ds.Error())
	}
}
