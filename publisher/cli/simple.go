package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/webhook"
)

func (e *Env) keygen(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	out := fs.String("out", "", "path of the private key file (`KEY`); the JWKS goes to KEY"+keys.JWKSSuffix)
	force := fs.Bool("force", false, "overwrite existing key files")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return e.usageErr(fs, "unexpected argument %q", pos[0])
	}
	if *out == "" {
		return e.usageErr(fs, "--out is required")
	}
	pub, err := keys.Keygen(*out, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s\n", pub.ID)
	fmt.Fprintf(e.Stderr, "wrote %s (private, 0600) and %s (public JWKS)\n", *out, *out+keys.JWKSSuffix)
	return nil
}

// printDiags writes diagnostics, one a line, to w.
func printDiags(e *Env, ds config.Diagnostics) {
	for _, d := range ds {
		fmt.Fprintln(e.Stderr, d.String())
	}
}

func (e *Env) validate(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	strict := fs.Bool("strict", false, "treat expired flags as errors")
	nowFlag := fs.String("now", "", "check expiry at this RFC 3339 `time` (default: now)")
	storeURL := fs.String("store", "", "also report auto-disabled webhooks recorded in this store (`URL`)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one DIR argument, got %d", len(pos))
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
	}
	doc, diags := compile.Validate(pos[0], compile.LintOptions{Strict: *strict, Now: now})
	printDiags(e, diags)
	errs, warns := 0, 0
	for _, d := range diags {
		if d.Severity == config.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	if errs > 0 {
		fmt.Fprintf(e.Stderr, "edgeflag: validate: %s: %d error(s), %d warning(s)\n", pos[0], errs, warns)
		return &exitError{code: ExitInvalid, err: errReported}
	}
	fmt.Fprintf(e.Stdout, "%s: ok (project %s, %d flags, %d environments, %d warning(s))\n",
		pos[0], doc.Project, len(doc.Flags), len(doc.Environments), warns)
	if *storeURL != "" {
		blob, err := openStore(ctx, *storeURL)
		if err != nil {
			return err
		}
		st := &webhook.State{Blob: blob, Project: doc.Project}
		statuses, err := st.Statuses(ctx, hooksOf(doc))
		if err != nil {
			return err
		}
		printWebhookStatuses(e, statuses)
	}
	return nil
}

// hooksOf converts the config's webhooks for the webhook package.
func hooksOf(doc *config.Document) []webhook.Hook {
	var hs []webhook.Hook
	for _, w := range doc.Webhooks {
		h := webhook.Hook{Name: w.Name, URL: w.URL, Secret: w.Secret, Events: w.Events}
		for _, r := range w.Environments {
			h.Environments = append(h.Environments, r.Name)
		}
		hs = append(hs, h)
	}
	return hs
}

func printWebhookStatuses(e *Env, ss []webhook.Status) {
	disabled := 0
	for _, s := range ss {
		if s.Disabled {
			disabled++
			fmt.Fprintf(e.Stdout, "webhook %s: DISABLED since %s after %d consecutive failures (last error: %s); fix it and publish, or re-enable it\n",
				s.Name, s.DisabledAt.UTC().Format("2006-01-02T15:04:05Z"), s.ConsecutiveFailures, printable(s.LastError))
		} else if s.ConsecutiveFailures > 0 {
			fmt.Fprintf(e.Stdout, "webhook %s: enabled, %d consecutive failure(s) (last error: %s)\n", s.Name, s.ConsecutiveFailures, printable(s.LastError))
		}
	}
	if disabled == 0 {
		fmt.Fprintf(e.Stdout, "webhooks: %d configured, none disabled\n", len(ss))
	}
}

// APIKeyScopes returns the scopes an edgefn API key may hold
// (docs/cli.md), in a new slice each call.
func APIKeyScopes() []string { return []string{"flags:read", "tokens:issue", "events:write"} }

// APIKeyPrefix starts every secret apikey prints.
const APIKeyPrefix = "efk_"

func (e *Env) apikey(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	keyName := fs.String("name", "", "key `name` (who uses it, e.g. backend)")
	allowed := APIKeyScopes()
	scopes := fs.String("scopes", "", "comma-separated `scopes`: "+strings.Join(allowed, ", "))
	projects := fs.String("projects", "", "comma-separated `projects` the key may read (default: all)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return e.usageErr(fs, "unexpected argument %q", pos[0])
	}
	if strings.TrimSpace(*keyName) == "" {
		return e.usageErr(fs, "--name is required")
	}
	sc := splitList(*scopes)
	if len(sc) == 0 {
		return e.usageErr(fs, "--scopes is required (%s)", strings.Join(allowed, ", "))
	}
	for _, s := range sc {
		if !slices.Contains(allowed, s) {
			return invalidf("unknown scope %q%s (allowed: %s)", s, config.DidYouMean(s, allowed), strings.Join(allowed, ", "))
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("generate secret: %w", err)
	}
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	fmt.Fprintf(e.Stdout, "secret: %s\n", secret)
	fmt.Fprintln(e.Stdout, "# shown once; store it in your secret manager. Add this entry under `keys:` in the API keys file:")
	fmt.Fprintf(e.Stdout, "- name: %s\n  sha256: %s\n  scopes: [%s]\n", yamlString(*keyName), hex.EncodeToString(sum[:]), strings.Join(sc, ", "))
	if ps := splitList(*projects); len(ps) > 0 {
		q := make([]string, len(ps))
		for i, p := range ps {
			q[i] = yamlString(p)
		}
		fmt.Fprintf(e.Stdout, "  projects: [%s]\n", strings.Join(q, ", "))
	}
	return nil
}

// yamlString quotes s for YAML when it is not a plain safe word.
func yamlString(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return strconv.Quote(s)
		}
	}
	if s == "" || strings.EqualFold(s, "true") || strings.EqualFold(s, "false") || strings.EqualFold(s, "null") || strings.EqualFold(s, "yes") || strings.EqualFold(s, "no") {
		return strconv.Quote(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.Quote(s)
	}
	return s
}
