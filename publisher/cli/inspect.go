package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/publisher/flagdiff"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// InspectJSON is inspect's --json output.
type InspectJSON struct {
	File      string        `json:"file"`
	Bytes     int           `json:"bytes"`
	SHA256    string        `json:"sha256"`
	Verified  bool          `json:"verified"`
	Format    int           `json:"format"`
	Algorithm string        `json:"alg"`
	KeyID     string        `json:"kid"`
	Project   string        `json:"project"`
	Env       string        `json:"environment"`
	Audience  string        `json:"audience"`
	Version   uint64        `json:"version"`
	IssuedAt  time.Time     `json:"issuedAt"`
	ExpiresAt time.Time     `json:"expiresAt"`
	Segments  []string      `json:"segments"`
	Flags     []InspectFlag `json:"flags"`
}

// InspectFlag summarises one flag of an inspected bundle.
type InspectFlag struct {
	Key      string   `json:"key"`
	Type     string   `json:"type"`
	Enabled  bool     `json:"enabled"`
	Variants []string `json:"variants"`
	Rules    []string `json:"rules"`
	Default  string   `json:"default"`
	Off      string   `json:"off"`
}

func (e *Env) inspect(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	jwksPath := fs.String("jwks", "", "trusted public keys (`FILE`)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	nowFlag := fs.String("now", "", "verification `time`, RFC 3339 (default: now)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one BUNDLE argument, got %d", len(pos))
	}
	if *jwksPath == "" {
		return e.usageErr(fs, "--jwks FILE is required")
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
	}
	jwks, err := loadJWKS(*jwksPath)
	if err != nil {
		return err
	}
	data, err := readBundleFile(pos[0])
	if err != nil {
		return err
	}
	c, b, err := openIR(data, jwks, now)
	if err != nil {
		if envelope.ErrorName(err) != "" {
			// The verifier's error starts with the reason it matches.
			return fmt.Errorf("%s: rejected: %w", pos[0], err)
		}
		return err
	}
	out := InspectJSON{
		File: pos[0], Bytes: len(data), SHA256: store.Digest(data), Verified: true,
		Format: c.Format, Algorithm: c.Algorithm, KeyID: c.KeyID,
		Project: c.Project, Env: c.Environment, Audience: c.Audience.String(),
		Version: c.Version, IssuedAt: c.IssuedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
		Segments: []string{}, Flags: []InspectFlag{},
	}
	for _, s := range b.Segments {
		out.Segments = append(out.Segments, s.Name)
	}
	for i := range b.Flags {
		f := &b.Flags[i]
		fl := InspectFlag{Key: f.Key, Type: f.Type.String(), Enabled: f.Enabled, Variants: []string{}, Rules: []string{},
			Default: FormatServe(b, f, flagdiff.DefaultServe(f)), Off: variantName(f, f.OffVariant)}
		for _, v := range f.Variants {
			fl.Variants = append(fl.Variants, v.Name+"="+string(v.Value))
		}
		for _, r := range f.Rules {
			fl.Rules = append(fl.Rules, r.ID+": when "+FormatCondition(b, r.When)+" serve "+FormatServe(b, f, r.Serve))
		}
		out.Flags = append(out.Flags, fl)
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := e.Stdout
	fmt.Fprintf(w, "%s: verified (%s, kid %s)\n", out.File, out.Algorithm, out.KeyID)
	fmt.Fprintf(w, "  project:     %s\n  environment: %s\n  audience:    %s\n  version:     %d\n", out.Project, out.Env, out.Audience, out.Version)
	fmt.Fprintf(w, "  issued:      %s\n  expires:     %s (in %s)\n", out.IssuedAt.Format(time.RFC3339), out.ExpiresAt.Format(time.RFC3339), out.ExpiresAt.Sub(now).Round(time.Second))
	fmt.Fprintf(w, "  size:        %d bytes, sha256 %s\n", out.Bytes, out.SHA256)
	fmt.Fprintf(w, "  segments:    %d %s\n", len(out.Segments), strings.Join(out.Segments, ", "))
	fmt.Fprintf(w, "  flags:       %d\n", len(out.Flags))
	for _, f := range out.Flags {
		state := "enabled"
		if !f.Enabled {
			state = "disabled, serves " + f.Off
		}
		fmt.Fprintf(w, "    %s (%s, %s) variants %s\n", f.Key, f.Type, state, strings.Join(f.Variants, " "))
		for _, r := range f.Rules {
			fmt.Fprintf(w, "      rule %s\n", r)
		}
		fmt.Fprintf(w, "      default %s\n", f.Default)
	}
	return nil
}
