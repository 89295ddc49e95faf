package edgepack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
)

const root = "../../.."

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// fixture is a client bundle of examples/shop/production and its JWKS.
type fixture struct {
	dir, bundle, jwks string
	raw               []byte
}

func shopBundle(t *testing.T, key any, version uint64, expires time.Time) fixture {
	t.Helper()
	doc, ds := config.Load(filepath.Join(root, "examples", "shop"))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	b, cds := compile.Build(doc, "production", ir.AudienceClient)
	if cds.HasErrors() {
		t.Fatal(cds.Error())
	}
	var signer seal.Signer
	switch k := key.(type) {
	case ed25519.PrivateKey:
		signer.Key = k
	case *ecdsa.PrivateKey:
		signer.Key = k
	}
	pub, err := keys.PublicKey(signer.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	signer.KeyID = pub.ID
	raw, err := seal.SealBundle(b, envelope.Claims{Version: version, IssuedAt: now.Add(-time.Hour), ExpiresAt: expires}, signer)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := fixture{dir: dir, bundle: filepath.Join(dir, "client.jws"), jwks: filepath.Join(dir, "jwks.json"), raw: raw}
	write(t, f.bundle, string(raw))
	write(t, f.jwks, string(jwks))
	return f
}

func edKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const goodConfig = `project: shop
environment: production
bundle: client.jws
jwks: jwks.json
function: origin
routes:
  - pattern: /checkout/**
    flags: [new-checkout, checkout-button-color]
  - pattern: /
    flags: [homepage-banner]
defaults:
  new-checkout: false
  checkout-button-color: "#1a73e8"
  homepage-banner: {show: false, title: ""}
context:
  language: {header: accept-language}
cookie: {maxAgeDays: 30, domain: example.com}
`

func TestConfigErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "project: shop\nenvironment: production\nroutes: []\nroutez: 1\n", "edge.yaml:4:1: routez: unknown key; did you mean \"routes\"?"},
		{"bad pattern", "project: shop\nenvironment: production\nroutes:\n  - pattern: /a b\n    flags: []\n", "edge.yaml:4:14: routes[0].pattern: character \" \" is not allowed"},
		{"missing default", "project: shop\nenvironment: production\nroutes:\n  - pattern: /\n    flags: [new-checkout]\n", "edge.yaml:5:13: routes[0].flags[0]: new-checkout has no default"},
		{"unused default", "project: shop\nenvironment: production\nroutes: []\ndefaults:\n  x: 1\n", "edge.yaml:5:3: defaults.x: no route evaluates x"},
		{"duplicate key", "project: shop\nproject: other\nenvironment: production\nroutes: []\n", "edge.yaml:2:1: project: given twice"},
		{"alias", "project: &p shop\nenvironment: *p\nroutes: []\n", "edge.yaml:2:14: environment: aliases are not allowed"},
		{"bad name", "project: ../x\nenvironment: production\nroutes: []\n", "edge.yaml:1:10: project:"},
		{"cookie too long", "project: shop\nenvironment: production\nroutes: []\ncookie: {maxAgeDays: 401}\n", "edge.yaml:4:22: cookie.maxAgeDays: want an integer 1-400"},
		{"refresh http", "project: shop\nenvironment: production\nroutes: []\nrefresh: {url: 'http://example.com/b.jws'}\n", "edge.yaml:4:16: refresh.url: want https://"},
		{"refresh credentials", "project: shop\nenvironment: production\nroutes: []\nrefresh: {url: 'https://u:p@example.com/b.jws'}\n", "refresh.url: credentials in the URL"},
		{"header prefix", "project: shop\nenvironment: production\nroutes: []\ncontext: {a: {header: x-edgeflag-unit}}\n", "edge.yaml:4:23: context.a.header: want a lower-case header name"},
		{"list default", "project: shop\nenvironment: production\nroutes:\n  - pattern: /\n    flags: [f]\ndefaults: {f: [1]}\n", "edge.yaml:6:15: defaults.f: want a boolean, string, number or object"},
		{"syntax", "project: [\n", "edge.yaml:1:1: syntax error: did not find expected node content"},
		{"missing routes", "project: shop\nenvironment: production\n", "edge.yaml:1:1: routes: missing"},
		{"flag twice", "project: shop\nenvironment: production\nroutes:\n  - pattern: /\n    flags: [a, a]\ndefaults: {a: 1}\n", "edge.yaml:5:16: routes[0].flags[1]: a is listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("edge.yaml", []byte(tc.yaml))
			var ds config.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("err = %v, want diagnostics", err)
			}
			if !strings.Contains(ds.Error(), tc.want) {
				t.Fatalf("got:\n%s\nwant a line containing %q", ds.Error(), tc.want)
			}
		})
	}
}

func TestPatternVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "patterns.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Invalid []string
		Cases   []struct{ Pattern string }
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Invalid {
		if PatternError(p) == "" {
			t.Errorf("PatternError(%q) = \"\", want a reason", p)
		}
	}
	for _, c := range v.Cases {
		if why := PatternError(c.Pattern); why != "" {
			t.Errorf("PatternError(%q) = %q, want valid", c.Pattern, why)
		}
	}
}

func build(t *testing.T, f fixture, cfg string, o Options) (*Report, error) {
	t.Helper()
	path := filepath.Join(f.dir, "edge.yaml")
	write(t, path, cfg)
	o.Root = root
	if o.Out == "" {
		o.Out = filepath.Join(f.dir, "out", "edge.zip")
	}
	if o.Now.IsZero() {
		o.Now = now
	}
	return Build(context.Background(), path, o)
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zipTime) || f.Mode().Perm() != 0o644 {
			t.Errorf("%s: time %v mode %v, want the fixed time and 0644", f.Name, f.Modified, f.Mode())
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		r.Close()
		out[f.Name] = b.Bytes()
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not sorted: %q before %q", names[i-1], names[i])
		}
	}
	return out
}

func needModule(t *testing.T, m string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, m)); err != nil {
		t.Fatalf("%s is missing: run make wasm (make test does)", m)
	}
}

func TestBuildOriginPackage(t *testing.T) {
	needModule(t, ModuleStandard)
	f := shopBundle(t, edKey(t), 3, now.Add(30*24*time.Hour))
	rep, err := build(t, f, strings.Replace(goodConfig, "function: origin\n", "function: origin\nmodule: standard\n", 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := readZip(t, rep.Out)
	for _, want := range []string{"index.mjs", "baked/config.json", "baked/jwks.json", "baked/bundle.jws", "baked/edgeflag.wasm",
		"edgefn/viewer/src/lambda.mjs", "wasm/js/engine.mjs"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the package has no %s (files: %v)", want, rep.Files)
		}
	}
	for name := range files {
		if strings.Contains(name, "node_modules") || strings.HasSuffix(name, ".test.mjs") {
			t.Errorf("the package holds %s", name)
		}
	}
	if !bytes.Equal(files["baked/bundle.jws"], f.raw) {
		t.Error("an EdDSA bundle must be baked exactly as published")
	}
	var baked Baked
	if err := json.Unmarshal(files["baked/config.json"], &baked); err != nil {
		t.Fatal(err)
	}
	if baked.Cookie.MaxAgeSeconds != 30*86400 || baked.Cookie.Domain != "example.com" || baked.FlagsHeaderMaxBytes != FlagsHeaderDefault ||
		len(baked.Routes) != 2 || compact(baked.Defaults["homepage-banner"]) != `{"show":false,"title":""}` || baked.Context["language"].Header != "accept-language" {
		t.Errorf("config.json = %s", files["baked/config.json"])
	}
	if rep.Bundle.Version != 3 || rep.Limit != OriginZipLimit || rep.Size > OriginZipLimit {
		t.Errorf("report = %+v", rep)
	}
	// Deterministic: the same inputs give the same bytes.
	first, _ := os.ReadFile(rep.Out)
	rep2, err := build(t, f, strings.Replace(goodConfig, "function: origin\n", "function: origin\nmodule: standard\n", 1), Options{Out: filepath.Join(f.dir, "again.zip")})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(rep2.Out)
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same inputs differ")
	}
}

func TestViewerPackageOverTheLimitIsNotWritten(t *testing.T) {
	needModule(t, ModuleStandard)
	f := shopBundle(t, edKey(t), 1, now.Add(30*24*time.Hour))
	cfg := strings.Replace(goodConfig, "function: origin\n", "module: standard\n", 1)
	rep, err := build(t, f, cfg, Options{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge (the standard-Go module is over 1 MB zipped)", err)
	}
	if _, serr := os.Stat(rep.Out); !os.IsNotExist(serr) {
		t.Errorf("a package over the limit was written: %v", serr)
	}
	var out bytes.Buffer
	rep.Print(&out)
	hint := "make wasm-tiny" // the way to a package that fits
	if _, err := os.Stat(filepath.Join(root, ModuleTiny)); err == nil {
		hint = "module: tiny"
	}
	if !strings.Contains(out.String(), "TOO LARGE") || !strings.Contains(out.String(), "NOT WRITTEN") || !strings.Contains(err.Error(), hint) {
		t.Errorf("report:\n%s\nerr: %v", out.String(), err)
	}
}

func TestBuildRefusesWhatTheBundleContradicts(t *testing.T) {
	needModule(t, ModuleStandard)
	key := edKey(t)
	f := shopBundle(t, key, 1, now.Add(30*24*time.Hour))
	cases := []struct{ name, cfg, want string }{
		{"server-only flag", strings.Replace(strings.Replace(goodConfig, "[new-checkout, checkout-button-color]", "[new-checkout, payment-retry-limit]", 1),
			"  checkout-button-color: \"#1a73e8\"\n", "  payment-retry-limit: 2\n", 1),
			"edge.yaml:8:27: routes[0].flags[1]: payment-retry-limit is not in the client bundle of version 1"},
		{"wrong type", strings.Replace(goodConfig, "new-checkout: false", "new-checkout: \"no\"", 1), "edge.yaml:12:3: defaults.new-checkout: new-checkout is a boolean flag; its default is a string"},
		{"other project", strings.Replace(goodConfig, "project: shop", "project: blog", 1), "bundle is for another project"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, f, tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		old := shopBundle(t, key, 1, now.Add(-time.Minute))
		_, err := build(t, old, goodConfig, Options{})
		if !errors.Is(err, envelope.ErrExpired) {
			t.Fatalf("err = %v, want ErrExpired", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		bad := append([]byte(nil), f.raw...)
		bad[len(bad)-5] ^= 1
		write(t, f.bundle, string(bad))
		defer write(t, f.bundle, string(f.raw))
		if _, err := build(t, f, goodConfig, Options{}); !errors.Is(err, envelope.ErrSignature) && !errors.Is(err, envelope.ErrMalformed) {
			t.Fatalf("err = %v, want a signature rejection", err)
		}
	})
	t.Run("deployment mismatch", func(t *testing.T) {
		_, err := build(t, f, goodConfig, Options{Project: "blog"})
		if err == nil || !strings.Contains(err.Error(), "edge.yaml:1:1: project: the configuration is for project shop, the deployment for blog") {
			t.Fatalf("err = %v", err)
		}
	})
}

// An ES256 (KMS) bundle is verified natively and re-signed for a module
// that verifies EdDSA only: the claims and payload are the published
// ones, the package trusts only its own key, and the same bundle gives
// the same package.
func TestES256BundleIsResealedForAnEdDSAModule(t *testing.T) {
	needModule(t, ModuleStandard)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := shopBundle(t, ec, 9, now.Add(30*24*time.Hour))
	cfg := strings.Replace(goodConfig, "function: origin\n", "function: origin\nmodule: standard\n", 1)
	rep, err := build(t, f, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resealed {
		t.Fatal("not resealed")
	}
	files := readZip(t, rep.Out)
	pkgKeys, err := envelope.ParseJWKS(files["baked/jwks.json"])
	if err != nil || len(pkgKeys) != 1 || pkgKeys[0].Algorithm != envelope.AlgEdDSA {
		t.Fatalf("package JWKS %s: %v", files["baked/jwks.json"], err)
	}
	orig, err := envelope.Open(f.raw, envelope.Trust{Keys: mustJWKS(t, f.jwks), Project: "shop", Environment: "production", Audience: ir.AudienceClient, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	re, err := envelope.Open(files["baked/bundle.jws"], envelope.Trust{Keys: pkgKeys, Project: "shop", Environment: "production", Audience: ir.AudienceClient, Now: now,
		Algorithms: []string{envelope.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	if re.Claims.Version != orig.Claims.Version || !re.Claims.ExpiresAt.Equal(orig.Claims.ExpiresAt) || !re.Claims.IssuedAt.Equal(orig.Claims.IssuedAt) {
		t.Errorf("claims changed: %+v vs %+v", re.Claims, orig.Claims)
	}
	again, err := build(t, f, cfg, Options{Out: filepath.Join(f.dir, "again.zip")})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(rep.Out)
	b, _ := os.ReadFile(again.Out)
	if !bytes.Equal(a, b) {
		t.Error("re-sealing the same bundle twice gave different packages")
	}
	// With a refresh, a re-sealed package would have to trust bundles it cannot verify: refused.
	if _, err := build(t, f, cfg+"refresh: {url: 'https://example.com/client.jws'}\n", Options{}); err == nil || !strings.Contains(err.Error(), "module: es256") {
		t.Fatalf("err = %v, want the es256 advice", err)
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	_ = json.Compact(&b, raw)
	return b.String()
}

func mustJWKS(t *testing.T, path string) []envelope.Key {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := envelope.ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The live version of a store is baked, checked against the pointer's digest.
func TestBuildFromStore(t *testing.T) {
	needModule(t, ModuleStandard)
	f := shopBundle(t, edKey(t), 4, now.Add(30*24*time.Hour))
	storeDir := filepath.Join(f.dir, "store")
	cfg := strings.Replace(strings.Replace(goodConfig, "bundle: client.jws", "store: file://store", 1), "function: origin\n", "function: origin\nmodule: standard\n", 1)
	if _, err := build(t, f, cfg, Options{}); err == nil || !strings.Contains(err.Error(), "read the live version of shop/production") {
		t.Fatalf("empty store: err = %v", err)
	}
	rep, err := build(t, f, cfg, Options{AllowMissing: true})
	if err != nil || rep.Bundle != nil || len(rep.Warnings) == 0 {
		t.Fatalf("allowed missing: %+v %v", rep, err)
	}
	if _, ok := readZip(t, rep.Out)["baked/bundle.jws"]; ok {
		t.Error("a bundle was baked from an empty store")
	}
	ptr := map[string]any{"format": 1, "project": "shop", "environment": "production", "version": 4,
		"digests":     map[string]string{"client": store.Digest(f.raw), "server": store.Digest([]byte("x"))},
		"publishedAt": now.Format(time.RFC3339), "actor": "test", "action": "publish"}
	pj, _ := json.Marshal(ptr)
	write(t, filepath.Join(storeDir, "shop", "production", "current.json"), string(pj))
	write(t, filepath.Join(storeDir, "shop", "production", "bundles", "4.client.jws"), string(f.raw))
	rep, err = build(t, f, cfg, Options{})
	if err != nil || rep.Bundle == nil || rep.Bundle.Version != 4 {
		t.Fatalf("from store: %+v %v", rep, err)
	}
	write(t, filepath.Join(storeDir, "shop", "production", "bundles", "4.client.jws"), string(f.raw)+" ")
	if _, err := build(t, f, cfg, Options{}); err == nil || !strings.Contains(err.Error(), "the pointer says") {
		t.Fatalf("digest mismatch: err = %v", err)
	}
}
