package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// audiences are the bundles built per environment, in output order.
var audiences = []ir.Audience{ir.AudienceServer, ir.AudienceClient}

// BundleFileName is the name build gives a bundle file:
// <project>.<env>.<version>.<audience>.jws.
func BundleFileName(project, env string, version uint64, aud ir.Audience) string {
	return fmt.Sprintf("%s.%s.%d.%s.jws", project, env, version, aud)
}

// sealed is one built and signed bundle.
type sealed struct {
	aud  ir.Audience
	ir   *ir.Bundle
	data []byte
}

// buildSealed compiles both audiences of env and seals them as version,
// issued at now and valid for ttl.
func (e *Env) buildSealed(doc *config.Document, env string, s seal.Signer, version uint64, now time.Time, ttl time.Duration) ([]sealed, error) {
	var out []sealed
	for _, aud := range audiences {
		b, payload, err := e.compilePayload(doc, env, aud)
		if err != nil {
			return nil, err
		}
		data, err := sealPayload(payload, doc.Project, env, aud, version, now, ttl, s)
		if err != nil {
			return nil, err
		}
		out = append(out, sealed{aud: aud, ir: b, data: data})
	}
	return out, nil
}

// sealPayload seals a checked IR encoding as version, issued at now and
// valid for ttl (seal.SealIR: the result opens under a verifier's default
// limits). A bundle verifiers would refuse is a validation error.
func sealPayload(payload []byte, project, env string, aud ir.Audience, version uint64, now time.Time, ttl time.Duration, s seal.Signer) ([]byte, error) {
	c := envelope.Claims{Project: project, Environment: env, Audience: aud, Version: version, IssuedAt: now, ExpiresAt: now.Add(ttl)}
	data, err := seal.SealIR(payload, c, s)
	if errors.Is(err, seal.ErrUnverifiable) {
		return nil, invalidf("%s bundle: %w", aud, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s bundle: %w", aud, err)
	}
	return data, nil
}

// parseTTL parses --ttl; "" means the environment's bundleTTL. Bundles
// carry whole seconds and must expire after they are issued, so a TTL is
// at least a second.
func parseTTL(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, invalidf("--ttl must be a duration of at least 1s such as 168h, not %q", s)
	}
	return d, nil
}

func (e *Env) build(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	envName := fs.String("env", "", "environment to build (`ENV`)")
	keyPath := fs.String("key", "", "private signing key `FILE` (from keygen)")
	kmsKey := fs.String("kms-key", "", "AWS KMS key id or `ARN` to sign with (ES256)")
	outDir := fs.String("out", "", "output directory (`OUTDIR`, created if missing)")
	version := fs.Uint64("version", 1, "bundle `version` claim (1 .. 2^53-1)")
	ttlFlag := fs.String("ttl", "", "offline validity, exp - iat (`DUR`; default: the environment's bundleTTL)")
	nowFlag := fs.String("now", "", "issue time, RFC 3339 (default: now); same inputs and --now give identical bytes")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one DIR argument, got %d", len(pos))
	}
	if *envName == "" || *outDir == "" {
		return e.usageErr(fs, "--env and --out are required")
	}
	if *version < 1 || *version > envelope.MaxVersion {
		return invalidf("--version must be between 1 and %d", uint64(envelope.MaxVersion))
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
	}
	doc, err := e.loadDoc(pos[0], now, false)
	if err != nil {
		return err
	}
	envCfg := doc.Environment(*envName)
	ttl := config.DefaultBundleTTL
	if envCfg != nil {
		ttl = envCfg.BundleTTL
	}
	if ttl, err = parseTTL(*ttlFlag, ttl); err != nil {
		return err
	}
	signer, err := loadSigner(ctx, *keyPath, *kmsKey)
	if err != nil {
		return err
	}
	bundles, err := e.buildSealed(doc, *envName, signer, *version, now, ttl)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, b := range bundles {
		path := filepath.Join(*outDir, BundleFileName(doc.Project, *envName, *version, b.aud))
		if err := writeFileAtomic(path, b.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "wrote %s  %s bytes  sha256 %s  kid %s  (%s, %d flags, version %d, expires %s)\n",
			path, strconv.Itoa(len(b.data)), store.Digest(b.data), signer.KeyID, b.aud, len(b.ir.Flags), *version,
			now.Add(ttl).UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	return nil
}
