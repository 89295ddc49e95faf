package edgepack

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/safefile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// Lambda@Edge's limits on a function's zip (its quotas page).
const (
	MB             = 1 << 20
	ViewerZipLimit = 1 * MB  // viewer-request / viewer-response functions
	OriginZipLimit = 50 * MB // origin-request / origin-response functions
)

// The modules `auto` chooses from, smallest first, relative to the root.
var (
	ModuleTiny     = filepath.Join("wasm", "dist", "edgeflag.tiny.wasm")
	ModuleStandard = filepath.Join("wasm", "dist", "edgeflag.wasm")
	ModuleES256    = filepath.Join("wasm", "dist", "edgeflag-es256.wasm")
)

// jsFiles are the handlers' modules the package holds, relative to the
// root, at the same paths inside the zip (their relative imports hold).
var jsFiles = []string{
	"edgefn/viewer/src/config.mjs",
	"edgefn/viewer/src/edge.mjs",
	"edgefn/viewer/src/lambda.mjs",
	"edgefn/viewer/src/routes.mjs",
	"edgefn/viewer/src/unit.mjs",
	"wasm/js/engine.mjs",
	"wasm/js/errors.mjs",
	"wasm/js/time.mjs",
	"wasm/js/wasi.mjs",
}

const indexSource = "edgefn/viewer/src/package-index.mjs" // the zip's index.mjs

// Options are what `make edge` passes beside the configuration.
type Options struct {
	Root string // repository root: the JavaScript and the modules
	Out  string // the zip to write
	// Bundle, Store and JWKS, when set, replace the configuration's
	// (make deploy passes the deployed stack's store and key).
	Bundle, Store, JWKS string
	// Project and Environment, when set, must equal the configuration's.
	Project, Environment string
	// AllowMissing packages without a bundle when the store has none yet
	// (a first deployment): defaults are served until a bundle is baked.
	AllowMissing bool
	// Now is the verification time.
	Now time.Time
}

// Report is what a build made.
type Report struct {
	Out       string
	Size      int64
	Limit     int64 // the limit of the configured function kind
	Function  string
	Module    string // the module's path
	ModuleGz  int64  // its size zipped (deflate, as in the package)
	Bundle    *envelope.Claims
	Resealed  bool // verified natively and re-signed with a package key (see RATIONALE.md)
	Warnings  []string
	Files     []string
	OtherSize map[string]int64 // sizes of the package's modules the build did not use: tiny, standard
}

// ErrTooLarge marks a package over its Lambda@Edge limit.
var ErrTooLarge = errors.New("over the Lambda@Edge limit")

// Build checks the configuration at cfgPath against its bundle and writes
// the package. A package over its limit is not written.
func Build(ctx context.Context, cfgPath string, o Options) (*Report, error) {
	c, err := LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	if o.Bundle != "" {
		c.Bundle, c.Store = o.Bundle, ""
	}
	if o.Store != "" {
		c.Store, c.Bundle = o.Store, ""
	}
	if o.JWKS != "" {
		c.JWKS = o.JWKS
	}
	var diags config.Diagnostics
	if o.Project != "" && o.Project != c.Project {
		diags.Add(c.keyPos("project"), "project", "the configuration is for project %s, the deployment for %s", c.Project, o.Project)
	}
	if o.Environment != "" && o.Environment != c.Environment {
		diags.Add(c.keyPos("environment"), "environment", "the configuration is for environment %s, the deployment for %s", c.Environment, o.Environment)
	}
	if c.JWKS == "" {
		diags.Add(c.keyPos("jwks"), "jwks", "missing: the publisher's public keys (JWKS file) the bundle is verified against")
	}
	if len(diags) > 0 {
		return nil, diags
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	rep := &Report{Out: o.Out, Function: c.Function, OtherSize: map[string]int64{}}
	jwksData, err := safefile.Read(c.JWKS, envelope.MaxJWKS)
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	trusted, err := envelope.ParseJWKS(jwksData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.JWKS, err)
	}
	raw, err := c.loadBundle(ctx, o.AllowMissing)
	if err != nil {
		return nil, err
	}
	module, err := c.chooseModule(o.Root, trusted)
	if err != nil {
		return nil, err
	}
	rep.Module = module
	bakedJWKS := jwksData
	var bundleOut []byte
	if raw == nil {
		rep.Warnings = append(rep.Warnings, "no bundle baked: every route serves its defaults (X-Edgeflag-Status: missing) until one is (publish, then build again)")
	} else {
		b, err := envelope.Verify(raw, envelope.Trust{Keys: trusted, Project: c.Project, Environment: c.Environment,
			Audience: ir.AudienceClient, Now: o.Now, Grace: time.Duration(c.Grace) * time.Second, MaxSkew: 5 * time.Minute})
		if err != nil {
			return nil, fmt.Errorf("verify the client bundle %s: %w", c.bundleName(), err)
		}
		ib, err := b.DecodeIR(ir.DefaultLimits())
		if err != nil {
			return nil, fmt.Errorf("verify the client bundle %s: %w", c.bundleName(), err)
		}
		if err := c.checkFlags(ib, b.Claims.Version); err != nil {
			return nil, err
		}
		rep.Bundle = &b.Claims
		if left := b.Claims.ExpiresAt.Sub(o.Now); left < 7*24*time.Hour {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the bundle expires %s (in %s): viewer functions cannot refresh it, so build and deploy again before then",
				b.Claims.ExpiresAt.UTC().Format(time.RFC3339), left.Round(time.Minute)))
		}
		bundleOut = raw
		if !moduleVerifies(module, b.Claims.Algorithm) {
			if c.Refresh != nil {
				return nil, fmt.Errorf("the bundle is signed with %s, which %s cannot verify, and refresh is configured: use module: es256 (origin functions only)", b.Claims.Algorithm, filepath.Base(module))
			}
			bundleOut, bakedJWKS, err = reseal(raw, b.Claims, trusted, o.Now)
			if err != nil {
				return nil, err
			}
			rep.Resealed = true
		}
	}
	wasm, err := safefile.Read(module, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	cfgJSON, err := json.MarshalIndent(c.Baked(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config.json: %w", err)
	}
	files := map[string][]byte{
		"baked/config.json":   append(cfgJSON, '\n'),
		"baked/jwks.json":     bakedJWKS,
		"baked/edgeflag.wasm": wasm,
	}
	if bundleOut != nil {
		files["baked/bundle.jws"] = bundleOut
	}
	for _, f := range append([]string{indexSource}, jsFiles...) {
		data, err := safefile.Read(filepath.Join(o.Root, f), 1<<20)
		if err != nil {
			return nil, fmt.Errorf("read handler source: %w", err)
		}
		name := f
		if f == indexSource {
			name = "index.mjs"
		}
		files[name] = data
	}
	zipData, err := Zip(files)
	if err != nil {
		return nil, err
	}
	rep.Size = int64(len(zipData))
	rep.Limit = OriginZipLimit
	if c.Function == FunctionViewer {
		rep.Limit = ViewerZipLimit
	}
	rep.ModuleGz = deflatedSize(wasm)
	for _, m := range []string{ModuleTiny, ModuleStandard} {
		if p := filepath.Join(o.Root, m); p != module {
			if data, err := safefile.Read(p, 64<<20); err == nil {
				rep.OtherSize[filepath.Base(m)] = deflatedSize(data)
			}
		}
	}
	for name := range files {
		rep.Files = append(rep.Files, name)
	}
	slices.Sort(rep.Files)
	if rep.Size > rep.Limit {
		return rep, fmt.Errorf("%s would be %d bytes: %w for %s functions (%d bytes); nothing written%s",
			o.Out, rep.Size, ErrTooLarge, c.Function, rep.Limit, tooLargeHint(module, o.Root, c.Function))
	}
	if err := writeAtomic(o.Out, zipData); err != nil {
		return nil, err
	}
	return rep, nil
}

func tooLargeHint(module, root, function string) string {
	if function != FunctionViewer {
		return ""
	}
	if module != filepath.Join(root, ModuleStandard) {
		return ""
	}
	if _, err := os.Stat(filepath.Join(root, ModuleTiny)); err != nil {
		return ": the standard-Go module alone is too large for a viewer function; build the TinyGo module (make wasm-tiny) or package for origin functions (function: origin)"
	}
	return ": the standard-Go module alone is too large for a viewer function; use the TinyGo module (module: tiny, or auto) or package for origin functions (function: origin)"

}

func (c *Config) bundleName() string {
	if c.Store != "" {
		return "of " + c.Store
	}
	return c.Bundle
}

// loadBundle returns the signed client bundle the configuration names:
// a file, or the live version of a store (checked against the digest its
// pointer records). nil when there is none and that is allowed.
func (c *Config) loadBundle(ctx context.Context, allowMissing bool) ([]byte, error) {
	switch {
	case c.Bundle != "":
		data, err := safefile.Read(c.Bundle, 12<<20)
		if err != nil {
			return nil, fmt.Errorf("read bundle: %w", err)
		}
		return data, nil
	case c.Store != "":
		s, err := store.Open(ctx, c.Store)
		if err != nil {
			return nil, err
		}
		ptr, _, err := store.NewPublisher(s).ReadPointer(ctx, c.Project, c.Environment)
		if errors.Is(err, store.ErrNotFound) && allowMissing {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the live version of %s/%s: %w", c.Project, c.Environment, err)
		}
		data, _, err := s.Get(ctx, store.BundleKey(c.Project, c.Environment, ptr.Version, "client"))
		if err != nil {
			return nil, fmt.Errorf("read the client bundle of version %d: %w", ptr.Version, err)
		}
		if got := store.Digest(data); got != ptr.Digests["client"] {
			return nil, fmt.Errorf("client bundle of version %d: SHA-256 %s, the pointer says %s", ptr.Version, got, ptr.Digests["client"])
		}
		return data, nil
	case allowMissing:
		return nil, nil
	}
	return nil, config.Diagnostics{{Pos: c.keyPos("bundle"), Path: "bundle", Msg: "missing: give bundle (a signed client bundle file) or store (file:// or s3:// URL)"}}
}

// checkFlags checks each route's flags against the bundle: present
// (client-side) and of the type of its default.
func (c *Config) checkFlags(b *ir.Bundle, version uint64) error {
	types := map[string]ir.FlagType{}
	for _, f := range b.Flags {
		types[f.Key] = f.Type
	}
	var diags config.Diagnostics
	for i, r := range c.Routes {
		for j, key := range r.Flags {
			t, ok := types[key]
			path := fmt.Sprintf("routes[%d].flags[%d]", i, j)
			if !ok {
				diags.Add(r.flagPos[j], path, "%s is not in the client bundle of version %d (a client-side flag of %s/%s?)%s",
					key, version, c.Project, c.Environment, config.DidYouMean(key, keysOf(types)))
				continue
			}
			if want := jsonType(c.Defaults[key]); want != t {
				diags.Add(c.defaultPos[key], "defaults."+key, "%s is a %s flag; its default is a %s", key, t, want)
			}
		}
	}
	if len(diags) > 0 {
		diags.Sort()
		return diags
	}
	return nil
}

func keysOf(m map[string]ir.FlagType) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonType(raw json.RawMessage) ir.FlagType {
	switch s := strings.TrimSpace(string(raw)); {
	case s == "true" || s == "false":
		return ir.TypeBoolean
	case strings.HasPrefix(s, `"`):
		return ir.TypeString
	case strings.HasPrefix(s, "{"):
		return ir.TypeObject
	default:
		return ir.TypeNumber
	}
}

// chooseModule resolves the configured module. auto: the TinyGo module
// when it has been built, else the standard-Go one; both verify EdDSA
// only, so a refresh of ES256 bundles needs es256.
func (c *Config) chooseModule(root string, trusted []envelope.Key) (string, error) {
	pick := c.Module
	if pick == "auto" {
		pick = "standard"
		if _, err := os.Stat(filepath.Join(root, ModuleTiny)); err == nil {
			pick = "tiny"
		}
		if c.Refresh != nil && slices.ContainsFunc(trusted, func(k envelope.Key) bool { return k.Algorithm == envelope.AlgES256 }) {
			pick = "es256"
		}
	}
	var p string
	switch pick {
	case "tiny":
		p = filepath.Join(root, ModuleTiny)
	case "standard":
		p = filepath.Join(root, ModuleStandard)
	case "es256":
		p = filepath.Join(root, ModuleES256)
	default:
		p = pick
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("module %s: %w (make wasm builds the standard and es256 modules, make wasm-tiny the TinyGo one)", p, err)
	}
	return p, nil
}

// moduleVerifies reports whether a module verifies alg: every module
// verifies EdDSA; ES256 only edgeflag-es256.wasm (or a module named *es256*).
func moduleVerifies(module, alg string) bool {
	return alg == envelope.AlgEdDSA || strings.Contains(filepath.Base(module), "es256")
}

// reseal re-signs a bundle that verified natively (against the
// publisher's keys, with ES256, which the size-bound modules cannot
// verify) with an Ed25519 key made for this package, and returns the new
// envelope and a JWKS of that key alone. The payload and every claim stay
// as published. The key is derived from the bundle's bytes, so the same
// bundle gives the same package; it signs nothing else, and a package
// that re-seals never refreshes (RATIONALE.md).
func reseal(raw []byte, claims envelope.Claims, trusted []envelope.Key, now time.Time) ([]byte, []byte, error) {
	v, err := envelope.Verify(raw, envelope.Trust{Keys: trusted, Project: claims.Project, Environment: claims.Environment,
		Audience: claims.Audience, Now: now, Grace: 365 * 24 * time.Hour, MaxSkew: 5 * time.Minute})
	if err != nil {
		return nil, nil, fmt.Errorf("reseal: %w", err)
	}
	seed := sha256.Sum256(append([]byte("edgeflag edge package key v1\x00"), raw...))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	out, err := seal.SealIR(v.Payload, v.Claims, seal.Signer{KeyID: pub.ID, Key: priv})
	if err != nil {
		return nil, nil, fmt.Errorf("reseal: %w", err)
	}
	jwks, err := keys.MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		return nil, nil, err
	}
	return out, jwks, nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".edge-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
