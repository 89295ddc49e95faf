package cli

import (
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/flagdiff"
)

// snapshot compiles one config file's prod environment, both audiences.
func snapshotOf(t *testing.T, src string) Snapshot {
	t.Helper()
	doc, ds := config.Parse([]config.File{{Name: "f.yaml", Data: []byte(src)}})
	if ds.HasErrors() {
		t.Fatalf("load: %s", ds.Error())
	}
	var s Snapshot
	for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
		b, ds := compile.Build(doc, "prod", aud)
		if ds.HasErrors() {
			t.Fatalf("build: %s", ds.Error())
		}
		if aud == ir.AudienceServer {
			s.Server = b
		} else {
			s.Client = b
		}
	}
	return s
}

const diffBefore = `project: p
environments: [prod]
segments:
  staff: {when: 'email.endsWith("@example.com")'}
  vip: {keys: [a, b]}
flags:
  gone: {type: boolean}
  checkout:
    type: string
    description: old text
    variants: {a: "A", b: "B"}
    defaultVariant: a
    environments:
      prod:
        rules:
          - {name: staff, when: 'inSegment("staff")', serve: b}
          - {name: pro, when: 'plan == "pro"', split: {a: 25, b: 75}}
          - {name: old, when: 'age > 3', serve: a}
`

const diffAfter = `project: p
environments: [prod]
segments:
  staff: {when: 'email.endsWith("@example.org")'}
  vip: {keys: [b, c, d]}
  fresh: {keys: [x]}
flags:
  new: {type: boolean, clientSide: true}
  checkout:
    type: string
    clientSide: true
    description: new text
    variants: {a: "A2", b: "B", c: "C"}
    defaultVariant: b
    environments:
      prod:
        rules:
          - {name: pro, when: 'plan == "pro"', split: {a: 50, b: 50}}
          - {name: staff, when: 'inSegment("staff")', serve: b}
          - {name: added, when: 'age > 9', serve: c}
`

// The flag-level diff (package flagdiff) as the CLI renders it: every kind
// of change a publish records in its audit summary.
func TestFlagDiffRendered(t *testing.T) {
	got := flagdiff.Summary(diffOf(snapshotOf(t, diffBefore), snapshotOf(t, diffAfter)))
	want := []string{
		`~ flag checkout: client-side: false -> true`,
		`~ flag checkout: variant a: "A" -> "A2"`,
		`~ flag checkout: variant c added: "C"`,
		`~ flag checkout: default variant: a -> b`,
		`~ flag checkout: off variant: a -> b`,
		`~ flag checkout: default: a -> b`,
		`~ flag checkout: rule pro: serve: split a:25 b:75 -> split a:50 b:50`,
		`~ flag checkout: rule added added: when age > 9 serve c`,
		`~ flag checkout: rule old removed (was: when age > 3 serve a)`,
		`~ flag checkout: rule order: staff, pro -> pro, staff`,
		`~ flag checkout: metadata description: "old text" -> "new text"`,
		`- flag gone`,
		`+ flag new: boolean, disabled, 2 variant(s), 0 rule(s), default off`,
		`+ segment fresh: 1 key(s) on targetingKey`,
		`~ segment staff: condition: email.endsWith("@example.com") -> email.endsWith("@example.org")`,
		`~ segment vip: keys: 2 -> 3 (+2 -1)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cs := diffOf(snapshotOf(t, diffAfter), snapshotOf(t, diffAfter)); len(cs) != 0 {
		t.Errorf("a version differs from itself: %v", cs)
	}
	// Nothing published yet: everything is added.
	for _, c := range diffOf(Snapshot{}, snapshotOf(t, diffBefore)) {
		if c.Op != '+' {
			t.Errorf("from nothing: %v", c)
		}
	}
}
