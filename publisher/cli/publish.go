package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/flagdiff"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/webhook"
)

func (e *Env) publish(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	envName := fs.String("env", "", "environment to publish (`ENV`)")
	keyPath := fs.String("key", "", "private signing key `FILE`")
	kmsKey := fs.String("kms-key", "", "AWS KMS key id or `ARN` to sign with (ES256)")
	storeURL := fs.String("store", "", "store `URL` (file://PATH or s3://bucket/prefix)")
	reason := fs.String("reason", "", "why (`TEXT`; required for protected environments)")
	actorFlag := fs.String("actor", "", "who publishes (`NAME`; default $EDGEFLAG_ACTOR, else $USER)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one DIR argument, got %d", len(pos))
	}
	if *envName == "" || *storeURL == "" {
		return e.usageErr(fs, "--env and --store are required")
	}
	now := e.now()
	doc, err := e.loadDoc(pos[0], now, false)
	if err != nil {
		return err
	}
	envCfg := doc.Environment(*envName)
	if envCfg != nil && envCfg.Protected && strings.TrimSpace(*reason) == "" {
		return invalidf("environment %s is protected: --reason TEXT is required", *envName)
	}
	signer, err := loadSigner(ctx, *keyPath, *kmsKey)
	if err != nil {
		return err
	}
	// Compile and check before touching the store (fails fast on an
	// unknown environment or a bundle verifiers would refuse).
	var next Snapshot
	payloads := map[ir.Audience][]byte{}
	for _, aud := range audiences {
		b, payload, err := e.compilePayload(doc, *envName, aud)
		if err != nil {
			return err
		}
		payloads[aud] = payload
		if aud == ir.AudienceServer {
			next.Server = b
		} else {
			next.Client = b
		}
	}
	blob, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	p := store.NewPublisher(blob)
	p.Now = e.now
	head, err := p.Head(ctx, doc.Project, *envName)
	if err != nil {
		return err
	}
	e.noteSkipped(name, head)
	changes := e.changeSummary(ctx, name, p, doc.Project, *envName, head.Current, next)
	if e.afterHead != nil {
		e.afterHead()
	}
	bundles := map[string][]byte{}
	for _, aud := range audiences {
		data, err := sealPayload(payloads[aud], doc.Project, *envName, aud, head.Next, now, envCfg.BundleTTL, signer)
		if err != nil {
			return err
		}
		bundles[aud.String()] = data
	}
	rec, err := p.Publish(ctx, head, store.Request{
		Action: store.ActionPublish, Bundles: bundles, Actor: e.actor(*actorFlag), Reason: *reason, Summary: changes,
	})
	if err != nil {
		return publishErr(err)
	}
	e.printPublished(rec, signer.KeyID)
	e.fireWebhooks(ctx, blob, doc, rec)
	return nil
}

// checkLive refuses, as a usage error, a version v that never went live in
// project/env: a rollback restores only what was once served, never the
// bundles of a publish that failed.
func checkLive(ctx context.Context, p *store.Publisher, project, env string, v uint64) error {
	_, entries, err := p.History(ctx, project, env)
	if err != nil {
		return err
	}
	for _, en := range entries {
		if en.Version != v {
			continue
		}
		if en.Published {
			return nil
		}
		why := "its publish did not finish"
		if en.Abandoned != nil {
			why = "its publish failed: " + printable(en.Abandoned.Error)
		}
		return invalidf("version %d never went live (%s); versions that did: %s", v, why, strings.Join(liveList(entries), ", "))
	}
	return invalidf("version %d does not exist in %s/%s; versions that went live: %s", v, project, env, strings.Join(liveList(entries), ", "))
}

func liveList(entries []store.HistoryEntry) []string {
	var live []string
	for _, en := range entries {
		if en.Published {
			live = append(live, strconv.FormatUint(en.Version, 10))
		}
	}
	return live
}

// verifyRestored checks a bundle a rollback is about to re-sign: its
// signature against jwks, and that both its claims and its payload are for
// project/env and aud, whatever its header says (a bundle copied in from
// another environment is refused). The validity period is checked at the
// bundle's own issue time: an old version's signature matters, not whether
// it could still be served.
func verifyRestored(data []byte, jwks []envelope.Key, project, env string, aud ir.Audience) (*envelope.Verified, *ir.Bundle, error) {
	h, err := envelope.Peek(data)
	if err != nil {
		return nil, nil, err
	}
	v, err := envelope.Verify(data, envelope.Trust{Keys: jwks, Project: project, Environment: env, Audience: aud, Now: h.IssuedAt})
	if err != nil {
		return nil, nil, err
	}
	b, err := ir.Decode(v.Payload, ir.DefaultLimits())
	if err != nil {
		return nil, nil, err
	}
	if b.Project != project || b.Environment != env || b.Audience != aud {
		return nil, nil, fmt.Errorf("payload is for %s/%s (%s), not %s/%s (%s)", b.Project, b.Environment, b.Audience, project, env, aud)
	}
	return v, b, nil
}

// changeSummary is the audit summary from the live version (0: none) to
// next. It is informational: the live version is read from the store this
// publisher writes to, verified by its digest in the audit record (not by
// signature: it may be from a rotated key), and a live version that cannot
// be read does not stop the publish (which is how such an environment is
// repaired); the summary then says so.
func (e *Env) changeSummary(ctx context.Context, cmd string, p *store.Publisher, project, env string, live uint64, next Snapshot) []string {
	var prev Snapshot
	if live > 0 {
		var err error
		if prev, err = readSnapshot(ctx, p, project, env, live, nil); err != nil {
			fmt.Fprintf(e.Stderr, "edgeflag: %s: note: no change summary: %s\n", cmd, printable(err.Error()))
			return []string{fmt.Sprintf("(no change summary: live version %d could not be read)", live)}
		}
	}
	return flagdiff.Summary(diffOf(prev, next))
}

// publishErr returns a failed publish's error: a lost race as its bare
// retry message (exit 2), anything else as the store reported it (it
// names the version and the step).
func publishErr(err error) error {
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return ce
	}
	return err
}

func (e *Env) printPublished(rec *store.AuditRecord, kid string) {
	fmt.Fprintf(e.Stdout, "%s %s/%s version %d (from %d) by %s, kid %s\n", rec.Action, rec.Project, rec.Environment, rec.Version, rec.From, printable(rec.Actor), kid)
	for _, aud := range sortedKeys(rec.Digests) {
		fmt.Fprintf(e.Stdout, "  %s %s sha256 %s\n", aud, store.BundleKey(rec.Project, rec.Environment, rec.Version, aud), rec.Digests[aud])
	}
	for _, s := range rec.Summary {
		fmt.Fprintf(e.Stdout, "  %s\n", printable(s))
	}
	fmt.Fprintf(e.Stdout, "%d\n", rec.Version)
}

// fireWebhooks notifies the environment's webhooks. Delivery problems are
// reported on stderr but do not fail the publish, which already happened.
func (e *Env) fireWebhooks(ctx context.Context, blob store.Blob, doc *config.Document, rec *store.AuditRecord) {
	hooks := hooksOf(doc)
	if len(hooks) == 0 {
		return
	}
	d := &webhook.Dispatcher{
		Client: e.HTTPClient,
		State:  &webhook.State{Blob: blob, Project: rec.Project},
		Now:    e.now,
		Sleep:  e.WebhookSleep,
		Getenv: func(k string) (string, bool) {
			v := e.Getenv(k)
			return v, v != ""
		},
		ReadFile: webhook.ReadSecretFile,
	}
	ev := webhook.Event{
		Type: rec.Action, Project: rec.Project, Environment: rec.Environment,
		FromVersion: rec.From, ToVersion: rec.Version, RollbackOf: rec.RollbackOf,
		Digests: rec.Digests, Actor: rec.Actor, Reason: rec.Reason, At: rec.At, Summary: rec.Summary,
	}
	results, err := d.Fire(ctx, hooks, ev)
	for _, r := range results {
		switch {
		case r.Skipped:
			fmt.Fprintf(e.Stderr, "edgeflag: webhook %s: disabled, not notified\n", r.Hook)
		case r.Local:
			fmt.Fprintf(e.Stderr, "edgeflag: webhook %s: not notified: %s (a problem on this machine: not counted towards auto-disable)\n", r.Hook, printable(r.Err.Error()))
		case r.Err != nil:
			msg := fmt.Sprintf("edgeflag: webhook %s: delivery failed after %d attempt(s): %s", r.Hook, r.Attempts, printable(r.Err.Error()))
			if r.Disabled {
				msg += " (now DISABLED)"
			}
			fmt.Fprintln(e.Stderr, msg)
		default:
			fmt.Fprintf(e.Stdout, "webhook %s: delivered (%d)\n", r.Hook, r.Status)
		}
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "edgeflag: webhooks: %s\n", printable(err.Error()))
	}
}

// noteSkipped tells which claims the head skips and why: a gap in the
// version numbers should never be a mystery.
func (e *Env) noteSkipped(cmd string, h store.Head) {
	for _, s := range h.Skipped {
		fmt.Fprintf(e.Stderr, "edgeflag: %s: note: skipping version %d, claimed by %s at %s and never live (%s)\n",
			cmd, s.Version, printable(s.Actor), s.At.UTC().Format(time.RFC3339), printable(s.Why))
	}
}

func (e *Env) rollback(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	storeURL := fs.String("store", "", "store `URL`")
	project := fs.String("project", "", "project (`P`)")
	envName := fs.String("env", "", "environment (`ENV`)")
	to := fs.Uint64("to", 0, "published `VERSION` whose flags to restore")
	keyPath := fs.String("key", "", "private signing key `FILE`")
	kmsKey := fs.String("kms-key", "", "AWS KMS key id or `ARN`")
	reason := fs.String("reason", "", "why (`TEXT`; required for protected environments, see --config)")
	actorFlag := fs.String("actor", "", "who (`NAME`; default $EDGEFLAG_ACTOR, else $USER)")
	jwksPath := fs.String("jwks", "", "JWKS `FILE` the old version must verify against (default: the signing key)")
	ttlFlag := fs.String("ttl", "", "offline validity of the new version (`DUR`; default: the old version's exp - iat)")
	cfgDir := fs.String("config", "", "flags `DIR`: its protected flag and webhooks apply")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return e.usageErr(fs, "unexpected argument %q", pos[0])
	}
	if *storeURL == "" || *project == "" || *envName == "" || *to == 0 {
		return e.usageErr(fs, "--store, --project, --env and --to are required")
	}
	if err := checkNames("--project", *project, "--env", *envName); err != nil {
		return err
	}
	if _, err := parseTTL(*ttlFlag, time.Second); err != nil {
		return err // checked before the store is read
	}
	now := e.now()
	var doc *config.Document
	if *cfgDir != "" {
		if doc, err = e.loadDoc(*cfgDir, now, false); err != nil {
			return err
		}
		if doc.Project != *project {
			return invalidf("--config %s is project %q, not %q", *cfgDir, doc.Project, *project)
		}
		if ec := doc.Environment(*envName); ec != nil && ec.Protected && strings.TrimSpace(*reason) == "" {
			return invalidf("environment %s is protected: --reason TEXT is required", *envName)
		}
	}
	if strings.TrimSpace(*reason) == "" {
		return invalidf("--reason TEXT is required for a rollback")
	}
	signer, err := loadSigner(ctx, *keyPath, *kmsKey)
	if err != nil {
		return err
	}
	jwks, err := loadJWKS(*jwksPath)
	if err != nil {
		return err
	}
	if jwks == nil {
		if jwks, err = signerJWKS(signer); err != nil {
			return err
		}
	}
	blob, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	p := store.NewPublisher(blob)
	p.Now = e.now
	head, err := p.Head(ctx, *project, *envName)
	if err != nil {
		return err
	}
	e.noteSkipped(name, head)
	if head.Current == 0 {
		return invalidf("nothing published in %s/%s", *project, *envName)
	}
	if err := checkLive(ctx, p, *project, *envName, *to); err != nil {
		return err
	}
	var restored Snapshot
	bundles := map[string][]byte{}
	for _, aud := range audiences {
		data, err := p.ReadVersion(ctx, *project, *envName, *to, aud.String())
		if err != nil {
			if aud == ir.AudienceClient && errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		v, b, err := verifyRestored(data, jwks, *project, *envName, aud)
		if err != nil {
			return fmt.Errorf("restore version %d %s bundle: %w", *to, aud, err)
		}
		ttl := v.Claims.ExpiresAt.Sub(v.Claims.IssuedAt)
		if ttl, err = parseTTL(*ttlFlag, ttl); err != nil {
			return err
		}
		out, err := sealPayload(v.Payload, *project, *envName, aud, head.Next, now, ttl, signer)
		if err != nil {
			return err
		}
		bundles[aud.String()] = out
		if aud == ir.AudienceServer {
			restored.Server = b
		} else {
			restored.Client = b
		}
	}
	rec, err := p.Publish(ctx, head, store.Request{
		Action: store.ActionRollback, Bundles: bundles, Actor: e.actor(*actorFlag), Reason: *reason,
		Summary: e.changeSummary(ctx, name, p, *project, *envName, head.Current, restored), RollbackOf: *to,
	})
	if err != nil {
		return publishErr(err)
	}
	e.printPublished(rec, signer.KeyID)
	if doc != nil {
		e.fireWebhooks(ctx, blob, doc, rec)
	} else {
		fmt.Fprintln(e.Stderr, "edgeflag: rollback: webhooks not notified: pass --config DIR to fire the project's webhooks")
	}
	return nil
}
