package compile

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// lintNow is the fixed "today" of the tests (expiry checks).
var lintNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func loadExamples(t *testing.T) *config.Document {
	t.Helper()
	doc, ds := config.Load(filepath.Join("..", "..", "examples", "shop"))
	if len(ds) != 0 {
		t.Fatalf("examples do not load cleanly:\n%s", ds.Error())
	}
	return doc
}

// TestExamples lints the example directory and builds every environment
// for both audiences, checking each bundle against the IR validator, the
// engine's loader and its golden dump.
func TestExamples(t *testing.T) {
	doc := loadExamples(t)
	if ds := Lint(doc, LintOptions{Strict: true, Now: lintNow}); len(ds) != 0 {
		t.Fatalf("lint on the examples:\n%s", ds.Error())
	}
	for _, env := range doc.Environments {
		for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
			name := env.Name + "." + aud.String()
			t.Run(name, func(t *testing.T) {
				b, ds := Build(doc, env.Name, aud)
				if ds.HasErrors() || b == nil {
					t.Fatalf("build: %s", ds.Error())
				}
				if err := b.Validate(); err != nil {
					t.Fatalf("bundle does not validate: %v", err)
				}
				if _, err := eval.Load(b, 1); err != nil {
					t.Fatalf("engine refuses bundle: %v", err)
				}
				again, _ := Build(doc, env.Name, aud)
				if !reflect.DeepEqual(b, again) {
					t.Errorf("building twice gave different bundles")
				}
				enc1, err1 := ir.Encode(b)
				enc2, err2 := ir.Encode(again)
				if err1 != nil || err2 != nil || string(enc1) != string(enc2) {
					t.Errorf("encodings of two builds differ (errors %v, %v)", err1, err2)
				}
				checkGolden(t, filepath.Join("testdata", name+".golden"), dump(b))
			})
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./publisher/compile -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the build (review, then regenerate with -update):\n--- got\n%s", path, got)
	}
}

// TestBuildSemantics checks the compiler's mapping of config to IR on the
// examples: ordering, statuses, defaults, client filtering and hashing.
func TestBuildSemantics(t *testing.T) {
	doc := loadExamples(t)
	srv, ds := Build(doc, "production", ir.AudienceServer)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	byKey := map[string]*ir.Flag{}
	var keys []string
	for i := range srv.Flags {
		byKey[srv.Flags[i].Key] = &srv.Flags[i]
		keys = append(keys, srv.Flags[i].Key)
	}
	if want := "checkout-button-color express-shipping homepage-banner new-checkout payment-retry-limit referral-program search-ranking"; strings.Join(keys, " ") != want {
		t.Errorf("server flags = %v, want %s (sorted, archived left out)", keys, want)
	}
	if f := byKey["referral-program"]; f.Enabled {
		t.Errorf("draft flag enabled")
	}
	if f := byKey["express-shipping"]; f.Enabled || f.Rules[0].ID != "rule-1" {
		t.Errorf("express-shipping: enabled=%v rule id %q", f.Enabled, f.Rules[0].ID)
	}
	nc := byKey["new-checkout"]
	if nc.Salt != "new-checkout" || nc.Variants[0].Name != "off" || string(nc.Variants[1].Value) != "true" || nc.Variants[nc.OffVariant].Name != "off" {
		t.Errorf("new-checkout variants/salt/off = %+v", nc)
	}
	if got := srv.Attributes[nc.Rules[2].Serve.BucketBy]; got != "accountId" {
		t.Errorf("bucketBy = %q", got)
	}
	if got := srv.Attributes[nc.Default.BucketBy]; got != "targetingKey" || len(nc.Default.Split) != 2 {
		t.Errorf("default split bucketBy = %q split %v", got, nc.Default.Split)
	}
	if len(nc.Metadata) != 2 || nc.Metadata[0].Key != "description" || nc.Metadata[1].Value.Str != "payments" {
		t.Errorf("metadata = %+v", nc.Metadata)
	}
	if f := byKey["search-ranking"]; f.Enabled != true {
		t.Errorf("search-ranking disabled in production")
	}
	// Not listed in staging -> disabled there.
	stg, _ := Build(doc, "staging", ir.AudienceServer)
	for _, f := range stg.Flags {
		if f.Key == "payment-retry-limit" && f.Enabled {
			t.Errorf("flag without a staging block enabled in staging")
		}
	}

	cli, ds := Build(doc, "production", ir.AudienceClient)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	var ckeys, segs []string
	for _, f := range cli.Flags {
		ckeys = append(ckeys, f.Key)
		if len(f.Metadata) != 0 {
			t.Errorf("client flag %s carries metadata", f.Key)
		}
	}
	for _, s := range cli.Segments {
		segs = append(segs, s.Name)
		if len(s.Keys) != 0 {
			t.Errorf("client segment %s carries raw keys", s.Name)
		}
		if s.Name == "vip-accounts" {
			salt := KeySalt("shop", "production", "vip-accounts")
			d := KeyDigest(salt, "acct-1002")
			found := false
			for _, k := range s.KeyDigests {
				found = found || k == d
			}
			if !found || string(s.KeySalt) != string(salt) || len(s.KeyDigests) != 3 {
				t.Errorf("vip-accounts digests/salt wrong")
			}
		}
	}
	if want := "checkout-button-color express-shipping homepage-banner new-checkout"; strings.Join(ckeys, " ") != want {
		t.Errorf("client flags = %v, want %s", ckeys, want)
	}
	if want := "eu-shoppers internal-staff modern-mobile vip-accounts"; strings.Join(segs, " ") != want {
		t.Errorf("client segments = %v, want %s (only those used)", segs, want)
	}
	if string(KeySalt("shop", "staging", "vip-accounts")) == string(KeySalt("shop", "production", "vip-accounts")) {
		t.Errorf("key salt does not depend on the environment")
	}
}

// TestBuildEvaluates runs compiled example bundles through the engine.
func TestBuildEvaluates(t *testing.T) {
	doc := loadExamples(t)
	b, _ := Build(doc, "production", ir.AudienceClient)
	e, err := eval.Load(b, 7)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Evaluate("new-checkout", eval.Context{"targetingKey": "u1", "email": "ann@example.com"}, lintNow)
	if r.Value != true || r.RuleID != "staff" {
		t.Errorf("staff new-checkout = %+v", r)
	}
	r = e.Evaluate("new-checkout", eval.Context{"targetingKey": "u1", "accountId": "acct-2040"}, lintNow)
	if r.Value != true || r.RuleID != "vip" {
		t.Errorf("vip (hashed keys) new-checkout = %+v", r)
	}
	r = e.Evaluate("express-shipping", eval.Context{"targetingKey": "u1"}, lintNow)
	if r.Value != false || r.Reason != eval.ReasonDisabled {
		t.Errorf("disabled express-shipping = %+v", r)
	}
}

func TestBuildRejectsUnknownEnvironment(t *testing.T) {
	doc := loadExamples(t)
	b, ds := Build(doc, "prodution", ir.AudienceServer)
	if b != nil || !strings.Contains(ds.Error(), `environment "prodution" is not declared`) || !strings.Contains(ds.Error(), `did you mean "production"?`) {
		t.Errorf("got bundle %v, diagnostics %s", b != nil, ds.Error())
	}
}

// TestExamplesCoverTheFormat keeps the examples exhaustive: every IR
// operator is produced by some environment's server bundle, and the
// config exercises every flag type, status and segment kind.
func TestExamplesCoverTheFormat(t *testing.T) {
	doc := loadExamples(t)
	seen := map[ir.Op]bool{}
	for _, env := range doc.Environments {
		b, ds := Build(doc, env.Name, ir.AudienceServer)
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		for _, n := range b.Nodes {
			seen[n.Op] = true
		}
	}
	for op := ir.OpConst; int(op) < ir.NumOps; op++ {
		if !seen[op] {
			t.Errorf("no example expression compiles to op %d", op)
		}
	}
	types := map[ir.FlagType]bool{}
	statuses := map[config.Status]bool{}
	var client, off, expires, split, bucketBy bool
	for _, f := range doc.Flags {
		types[f.Type] = true
		statuses[f.Status] = true
		client = client || f.ClientSide
		off = off || f.OffVariant.Name != ""
		expires = expires || !f.Expires.IsZero()
		for _, fe := range f.Environments {
			split = split || (fe.Default != nil && fe.Default.IsSplit())
			for _, r := range fe.Rules {
				bucketBy = bucketBy || r.Serve.BucketBy != ""
			}
		}
	}
	var keys, when, protected, ttl bool
	for _, s := range doc.Segments {
		keys = keys || (s.HasKeys && s.Attribute != DefaultBucketBy)
		when = when || s.When != nil
	}
	for _, e := range doc.Environments {
		protected = protected || e.Protected
		ttl = ttl || e.BundleTTL != config.DefaultBundleTTL
	}
	if len(types) != 4 || len(statuses) != 3 || !client || !off || !expires || !split || !bucketBy || !keys || !when || !protected || !ttl || len(doc.Webhooks) == 0 {
		t.Errorf("examples miss a feature: types=%v statuses=%v client=%v off=%v expires=%v defaultSplit=%v bucketBy=%v keys=%v when=%v protected=%v ttl=%v webhooks=%d",
			types, statuses, client, off, expires, split, bucketBy, keys, when, protected, ttl, len(doc.Webhooks))
	}
}

func TestValidateMergesLoadAndLint(t *testing.T) {
	dir := t.TempDir()
	src := "project: shop\nenvironments: [prod]\nflags:\n  f:\n    type: boolean\n    owner: [x]\n    environments: {prd: {enabled: true}}\n"
	if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ds := Validate(dir, LintOptions{Now: lintNow})
	want := []string{
		filepath.Join(dir, "f.yaml") + ":6:12: flags.f.owner: expected a string, got a list",
		filepath.Join(dir, "f.yaml") + `:7:20: flags.f.environments.prd: environment "prd" is not declared in ` + "`environments:`" + `; did you mean "prod"?`,
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d diagnostics:\n%s", len(ds), ds.Error())
	}
	for i, w := range want {
		if ds[i].String() != w {
			t.Errorf("diagnostic %d = %s, want %s", i, ds[i], w)
		}
	}
}
