package envelope_test

// Open of 10 000 F2-like flags that all differ. The peer-shaped flags of
// BenchmarkOpenFlags/Open10k are byte-identical, so ir.Decode shares one
// rule and variant slice between them and eval.Load prepares it once;
// here every flag has its own email domain, age threshold, country pair
// and split weights, so the number is what a real flag file costs.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// variedF2Flags returns n F2-like flags f2_00000... where flag i serves
// internal for "@d<i>.example" emails, pro-na for its own pair of country
// codes with plan "pro", senior for age >= 18+i%60, and otherwise splits
// a/b with weights 1+i%99 and 99-i%99.
func variedF2Flags(n int) []config.File {
	var sb strings.Builder
	sb.WriteString("project: bench\nenvironments: [production]\n" +
		"context: {targetingKey: string, email: string, country: string, plan: string, age: number}\nflags:\n")
	for i := 0; i < n; i++ {
		c1 := string([]byte{'A' + byte(i%26), 'A' + byte(i/26%26)})
		c2 := string([]byte{'A' + byte(i/26%26), 'A' + byte(i%26), 'X'})
		wa := 1 + i%99
		fmt.Fprintf(&sb, "  f2_%05d:\n    type: string\n"+
			"    variants: {internal: internal, pro-na: pro-na, senior: senior, a: a, b: b}\n"+
			"    defaultVariant: a\n    environments:\n      production:\n        rules:\n"+
			"          - {name: r-internal, when: 'email.endsWith(\"@d%d.example\")', serve: internal}\n"+
			"          - {name: r-pro-na, when: 'country in [\"%s\", \"%s\"] && plan == \"pro\"', serve: pro-na}\n"+
			"          - {name: r-senior, when: 'age >= %d', serve: senior}\n"+
			"        default: {split: {a: %d, b: %d}}\n", i, i, c1, c2, 18+i%60, wa, 100-wa)
	}
	return []config.File{{Name: "flags.yaml", Data: []byte(sb.String())}}
}

// benchOpenVaried adds Open10kVaried to BenchmarkOpenFlags: envelope.Open
// of the sealed server bundle per op, then one evaluation is checked
// (flag 7's threshold is age >= 25, so the peer context gets senior).
func benchOpenVaried(b *testing.B, ctx eval.Context, now time.Time) {
	const n = 10000
	doc, ds := config.Parse(variedF2Flags(n))
	if ds.HasErrors() {
		b.Fatal(ds.Error())
	}
	bd, ds := compile.Build(doc, "production", ir.AudienceServer)
	if ds.HasErrors() {
		b.Fatal(ds.Error())
	}
	if len(bd.Flags) != n {
		b.Fatalf("compiled %d flags, want %d", len(bd.Flags), n)
	}
	data := sealF2(b, bd)
	tr := benchTrust(ir.AudienceServer)
	b.Run("Open10kVaried", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu := processCPU()
		for b.Loop() {
			o, err := envelope.Open(data, tr)
			if err != nil {
				b.Fatal(err)
			}
			if r := o.Engine.Evaluate("f2_00007", ctx, now); r.Value != "senior" || r.RuleID != "r-senior" {
				b.Fatal(r)
			}
		}
		reportCPU(b, cpu)
	})
}
