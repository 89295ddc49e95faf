package expr

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// FuzzCompile feeds arbitrary sources to Compile: it must not panic, every
// error must lie within the source, and every accepted expression must
// yield IR that the bundle validator and the engine accept.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`plan == "pro" && country in ["US", "CA"]`,
		`!has(plan) || plan != "pro"`,
		`email.endsWith("@example.com") && email.matches(r"^[a-z]+@")`,
		`size(name) > 2 && tags.size() == 0 && "x" in tags`,
		`semver(appVersion) >= semver("v2.3.0-rc.1+b")`,
		`now >= timestamp("2026-01-01T00:00:00Z") && timestamp(t) < now`,
		`user.plan == 'x\u00e9' && a.` + "`b-c`" + ` < 1.5e3`,
		`plan == "x" ? a : b`, `a + 1 > 2`, `x.all(y, y > 1)`, `beta`, `true`, `((false))`,
		"plan ==\n \"pro\" &&", `[1, "a", x] == y`, `inSegment("s") || variant("f") == "on"`,
	} {
		f.Add(s)
	}
	env := &Env{Attrs: map[string]Type{"plan": TypeString, "age": TypeNumber, "beta": TypeBool,
		"appVersion": TypeSemver, "t": TypeTimestamp, "tags": TypeList}}
	f.Fuzz(func(t *testing.T, src string) {
		b := ir.NewBuilder("p", "e", ir.AudienceServer)
		info, errs := Compile(src, env, b)
		if errs != nil {
			lines := strings.Split(src, "\n")
			for _, e := range errs {
				if e.Line < 1 || e.Line > len(lines) || e.Col < 1 || e.Col > utf8.RuneCountInString(lines[e.Line-1])+1 {
					// cel-go counts an invalid UTF-8 byte as one code point
					if utf8.ValidString(src) {
						t.Fatalf("error %v outside the source %q", e, src)
					}
				}
				if e.Msg == "" {
					t.Fatalf("empty error message for %q", src)
				}
			}
			if len(b.Bundle.Nodes) != 0 {
				t.Fatalf("failed compile of %q appended nodes", src)
			}
			return
		}
		b.Bundle.Flags = []ir.Flag{{
			Key: "f", Type: ir.TypeBoolean,
			Variants: []ir.Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}},
			Enabled:  true,
			Rules:    []ir.Rule{{ID: "r", When: info.Root, Serve: ir.Serve{Variant: 1, BucketBy: ir.NoNode}}},
			Default:  ir.Serve{Variant: 0, BucketBy: ir.NoNode},
			Salt:     "f",
		}}
		e, err := eval.Load(b.Bundle, 1)
		if err != nil {
			t.Fatalf("compiled %q to IR the engine rejects: %v", src, err)
		}
		e.Evaluate("f", eval.Context{"plan": "pro", "tags": []any{"a"}}, time.Unix(0, 0))
	})
}
