package deploy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/infra/check"
	"github.com/edgeflag/edgeflag/publisher/keys"
)

// root makes a repository root with the real templates and stand-in
// packages where the templates name them.
func root(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"template.yaml", "edge.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "infra", f), data)
	}
	write(t, filepath.Join(dir, "dist", "edgefn.zip"), []byte("PK stand-in edgefn"))
	edgeZip(t, dir, "shop", "production")
	return dir
}

// edgeZip writes a stand-in viewer package baked for project/env.
func edgeZip(t *testing.T, dir, project, env string) {
	t.Helper()
	cfg := fmt.Sprintf(`{"format":1,"project":%q,"environment":%q,"routes":[],"defaults":{},"cookie":{"maxAgeSeconds":60},"flagsHeaderMaxBytes":4096,"graceSeconds":0}`, project, env)
	makeZip(t, filepath.Join(dir, "edgefn", "viewer", "dist", "edge.zip"), map[string][]byte{"index.mjs": []byte("// stand-in"), "baked/config.json": []byte(cfg)})
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func config(dir string) Config {
	return Config{Project: "shop", Env: "production", Region: "eu-west-1", Root: dir}
}

// samPair is SAM CLI's grammar for one --parameter-overrides pair (from
// samcli/cli/types.py, CfnParameterOverridesType: a key, '=', then a double-
// or single-quoted value with backslash escapes, or an unquoted value
// without spaces or quotes), each pair preceded by a space.
var samPair = regexp.MustCompile(`(?: )([A-Za-z0-9"]+)=("(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+)`)

// parseOverrides reads an override string as the SAM CLI does, and fails
// when any character is not part of a pair (SAM would drop it silently).
func parseOverrides(t *testing.T, s string) map[string]string {
	t.Helper()
	in := " " + s
	m := map[string]string{}
	consumed := 0
	for _, loc := range samPair.FindAllStringSubmatchIndex(in, -1) {
		if loc[0] != consumed {
			t.Fatalf("overrides %q: %q is not a pair", s, in[consumed:loc[0]])
		}
		consumed = loc[1]
		k, v := in[loc[2]:loc[3]], in[loc[4]:loc[5]]
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		v = strings.NewReplacer(`\ `, " ", `\"`, `"`, `\'`, "'").Replace(v)
		if _, dup := m[k]; dup {
			t.Fatalf("overrides %q: %s twice", s, k)
		}
		m[k] = v
	}
	if consumed != len(in) {
		t.Fatalf("overrides %q: trailing %q", s, in[consumed:])
	}
	return m
}

// checkSamDeploy checks one `sam deploy` command line against its template:
// the flags a deployment needs, every override a parameter of the template
// that satisfies its constraints, every parameter without a default given.
// It returns the overrides.
func checkSamDeploy(t *testing.T, cmd []string) map[string]string {
	t.Helper()
	if len(cmd) < 2 || cmd[0] != "sam" || cmd[1] != "deploy" {
		t.Fatalf("not a sam deploy: %v", cmd)
	}
	flags := map[string]string{}
	for i := 2; i < len(cmd); i++ {
		if !strings.HasPrefix(cmd[i], "--") {
			t.Fatalf("argument %q is not a flag", cmd[i])
		}
		switch cmd[i] {
		case "--resolve-s3", "--no-confirm-changeset", "--no-fail-on-empty-changeset":
			flags[cmd[i]] = ""
		default:
			if i+1 >= len(cmd) {
				t.Fatalf("%s has no value", cmd[i])
			}
			flags[cmd[i]] = cmd[i+1]
			i++
		}
	}
	for _, f := range []string{"--template-file", "--stack-name", "--region", "--resolve-s3", "--capabilities", "--no-confirm-changeset", "--parameter-overrides"} {
		if _, ok := flags[f]; !ok {
			t.Errorf("sam deploy without %s", f)
		}
	}
	if flags["--capabilities"] != "CAPABILITY_IAM" {
		t.Errorf("--capabilities %q: the templates create IAM roles (unnamed)", flags["--capabilities"])
	}
	tpl, err := check.Load(flags["--template-file"])
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tpl.Path) == "edge.yaml" && flags["--region"] != "us-east-1" {
		t.Errorf("edge.yaml deployed to %s; Lambda@Edge needs us-east-1", flags["--region"])
	}
	overrides := parseOverrides(t, flags["--parameter-overrides"])
	params := tpl.Parameters()
	for k, v := range overrides {
		p, ok := params[k].(map[string]any)
		if !ok {
			t.Errorf("%s: override %s is not a parameter", tpl.Path, k)
			continue
		}
		checkParam(t, k, p, v)
	}
	for k, p := range params {
		if _, def := p.(map[string]any)["Default"]; !def {
			if _, ok := overrides[k]; !ok {
				t.Errorf("%s: parameter %s has no default and is not given", tpl.Path, k)
			}
		}
	}
	return overrides
}

func checkParam(t *testing.T, name string, p map[string]any, v string) {
	t.Helper()
	if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(v) {
		t.Errorf("parameter %s=%q does not match %s", name, v, pat)
	}
	if allowed := check.List(p["AllowedValues"]); len(allowed) > 0 && !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == v }) {
		t.Errorf("parameter %s=%q is not one of %v", name, v, allowed)
	}
	if p["Type"] == "Number" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Errorf("parameter %s=%q is not a number", name, v)
		}
		if lo, ok := p["MinValue"].(int); ok && n < float64(lo) {
			t.Errorf("parameter %s=%v below %d", name, n, lo)
		}
		if hi, ok := p["MaxValue"].(int); ok && n > float64(hi) {
			t.Errorf("parameter %s=%v above %d", name, n, hi)
		}
	}
}

func samDeploys(d *DryRun) [][]string {
	var out [][]string
	for _, c := range d.Commands {
		if c[0] == "sam" {
			out = append(out, c)
		}
	}
	return out
}

func TestFirstDeployTrustsTheNewKey(t *testing.T) {
	d := &DryRun{W: &bytes.Buffer{}}
	c := config(root(t))
	c.ReservedConcurrency, c.LogRetentionDays, c.SecretsRevision, c.AlarmEmail = 50, 90, 3, "ops@example.com"
	res, err := Deploy(context.Background(), c, d)
	if err != nil {
		t.Fatal(err)
	}
	deploys := samDeploys(d)
	if len(deploys) != 3 {
		t.Fatalf("want regional, regional with the key trusted, edge; got %d sam deploys", len(deploys))
	}
	first, second, edge := checkSamDeploy(t, deploys[0]), checkSamDeploy(t, deploys[1]), checkSamDeploy(t, deploys[2])
	if first["BundleJwks"] != "" {
		t.Errorf("first pass trusts %q before the key exists", first["BundleJwks"])
	}
	ks, err := envelope.ParseJWKS([]byte(second["BundleJwks"]))
	if err != nil || len(ks) != 1 || ks[0].Algorithm != "ES256" {
		t.Fatalf("second pass BundleJwks %q: %v %v", second["BundleJwks"], ks, err)
	}
	if second["ReservedConcurrency"] != "50" || second["LogRetentionDays"] != "90" || second["SecretsRevision"] != "3" || second["AlarmEmail"] != "ops@example.com" {
		t.Errorf("settings not passed: %v", second)
	}
	if second["AthenaDatabaseName"] != "edgeflag_shop_production" {
		t.Errorf("AthenaDatabaseName %q", second["AthenaDatabaseName"])
	}
	if edge["BucketName"] != res.Regional["BucketName"] || edge["EdgefnUrlDomain"] != res.Regional["EdgefnUrlDomain"] {
		t.Errorf("edge stack not wired to the regional outputs: %v vs %v", edge, res.Regional)
	}
	zipped, err := os.ReadFile(filepath.Join(c.Root, "edgefn", "viewer", "dist", "edge.zip"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zipped)
	if want := base64.StdEncoding.EncodeToString(sum[:]); edge["EdgeCodeSha256"] != want {
		t.Errorf("EdgeCodeSha256 %q, want the edge zip's %q", edge["EdgeCodeSha256"], want)
	}
	for _, name := range SecretParameters("shop", "production") {
		if !ran(d, "aws", "ssm", "get-parameter", "--region", "eu-west-1", "--name", name) {
			t.Errorf("secret %s not checked", name)
		}
	}
}

func ran(d *DryRun, prefix ...string) bool {
	for _, c := range d.Commands {
		if len(c) >= len(prefix) && strings.Join(c[:len(prefix)], "\x00") == strings.Join(prefix, "\x00") {
			return true
		}
	}
	return false
}

func TestLaterDeployIsOnePass(t *testing.T) {
	d := &DryRun{W: &bytes.Buffer{}, deployed: map[string]bool{"edgeflag-shop-production": true}}
	if _, err := Deploy(context.Background(), config(root(t)), d); err != nil {
		t.Fatal(err)
	}
	deploys := samDeploys(d)
	if len(deploys) != 2 {
		t.Fatalf("want one regional and one edge deploy, got %d", len(deploys))
	}
	if o := checkSamDeploy(t, deploys[0]); o["BundleJwks"] == "" {
		t.Error("an existing stack's key is not trusted")
	}
	checkSamDeploy(t, deploys[1])
}

func TestJWKSFile(t *testing.T) {
	dir := root(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, err := publicJWKS(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var pretty, compact bytes.Buffer
	if err := json.Indent(&pretty, set, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&compact, set); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "trusted.jwks.json")
	write(t, file, pretty.Bytes())
	d := &DryRun{W: &bytes.Buffer{}}
	c := config(dir)
	c.JWKSFile = file
	if _, err := Deploy(context.Background(), c, d); err != nil {
		t.Fatal(err)
	}
	if ran(d, "kms:GetPublicKey") {
		t.Error("asked KMS although --jwks was given")
	}
	deploys := samDeploys(d)
	if got := checkSamDeploy(t, deploys[0])["BundleJwks"]; got != compact.String() {
		t.Errorf("BundleJwks %q, want the file compacted %q", got, compact.String())
	}

	priv, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	privJSON, _ := json.Marshal(map[string]any{"keys": []any{priv}})
	write(t, file, privJSON)
	if _, err := Deploy(context.Background(), c, &DryRun{W: &bytes.Buffer{}}); err == nil {
		t.Error("a JWKS holding a private key was accepted")
	}
}

type insecure struct{ *DryRun }

func (i insecure) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	if args[0] == "ssm" {
		return []byte("String\n"), nil
	}
	return i.DryRun.Output(ctx, name, args...)
}

func TestRefusals(t *testing.T) {
	dir := root(t)
	bad := func(edit func(*Config)) Config { c := config(dir); edit(&c); return c }
	for name, tc := range map[string]struct {
		c    Config
		t    Tools
		want string
	}{
		"project with a slash": {bad(func(c *Config) { c.Project = "a/b" }), &DryRun{W: &bytes.Buffer{}}, "project"},
		"no region":            {bad(func(c *Config) { c.Region = "" }), &DryRun{W: &bytes.Buffer{}}, "region"},
		"no packages":          {bad(func(c *Config) { c.Root = t.TempDir() }), &DryRun{W: &bytes.Buffer{}}, "make package"},
		"plain-text secret":    {config(dir), insecure{&DryRun{W: &bytes.Buffer{}}}, "must be SecureString"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Deploy(context.Background(), tc.c, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// With an edge configuration, the viewer package is baked after the
// regional stack, from its bucket and with the keys edgefn trusts, before
// the edge stack gets its hash.
func TestEdgeConfigBakesFromTheStack(t *testing.T) {
	dir := root(t)
	c := config(dir)
	c.EdgeConfig = "my-edge.yaml"
	d := &DryRun{W: &bytes.Buffer{}}
	if _, err := Deploy(context.Background(), c, d); err != nil {
		t.Fatal(err)
	}
	bake, edgeDeploy := -1, -1
	for i, cmd := range d.Commands {
		if cmd[0] == "edgeflag-edge" {
			bake = i
			want := []string{"edgeflag-edge", "--config", "my-edge.yaml", "--out", filepath.Join(dir, "edgefn", "viewer", "dist", "edge.zip"),
				"--store", "s3://edgeflag-shop-production-bucket-dryrun?region=eu-west-1", "--jwks", "TRUSTED-JWKS",
				"--project", "shop", "--env", "production", "--allow-missing-bundle"}
			if !slices.Equal(cmd, want) {
				t.Errorf("bake:\n got %q\nwant %q", cmd, want)
			}
		}
		if cmd[0] == "sam" && slices.Contains(cmd, "edgeflag-shop-production-edge") {
			edgeDeploy = i
		}
	}
	if bake < 0 || edgeDeploy < bake {
		t.Fatalf("bake at %d, edge deploy at %d: the package must be baked before the edge stack", bake, edgeDeploy)
	}
}

func TestEdgePackageOfAnotherEnvironmentIsRefused(t *testing.T) {
	dir := root(t)
	edgeZip(t, dir, "shop", "staging")
	_, err := Deploy(context.Background(), config(dir), &DryRun{W: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "was built for shop/staging, not shop/production") {
		t.Fatalf("err = %v", err)
	}
	c := config(dir)
	c.EdgeConfig = "prod-edge.yaml" // rebaked during the deploy: fine
	if _, err := Deploy(context.Background(), c, &DryRun{W: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
}

func TestOverridesRoundTrip(t *testing.T) {
	in := [][2]string{{"A", ""}, {"B", `{"keys":[{"kid":"x"}]}`}, {"C", "two words"}, {"D", "it's"}, {"E", "plain-1.2"}}
	got := parseOverrides(t, Overrides(in))
	for _, p := range in {
		if got[p[0]] != p[1] {
			t.Errorf("%s: %q came back as %q", p[0], p[1], got[p[0]])
		}
	}
}

func TestRunDryRun(t *testing.T) {
	dir := root(t)
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"--project", "shop", "--env", "production", "--region", "eu-west-1", "--root", dir, "--dry-run"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"+ sam deploy --template-file " + filepath.Join(dir, "infra", "template.yaml"), "--region us-east-1", "dry run: nothing was deployed", "edgeflag publish ./flags --env"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if err := Run(context.Background(), []string{"--nope"}, &out, &errb); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"sam", "a b", "it's", "", "x=y"})
	if want := `sam 'a b' 'it'\''s' '' x=y`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
