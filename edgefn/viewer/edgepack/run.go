package edgepack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publisher/config"
)

// ErrUsage marks a bad command line or configuration (exit status 1, as
// for ErrTooLarge).
var ErrUsage = errors.New("usage")

// Run is the command edgeflag-edge (`make edge`): build the package from
// an edge configuration and report its size against Lambda@Edge's limits.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edgeflag-edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "edge configuration (YAML, docs/edge.md) (required)")
	var o Options
	fs.StringVar(&o.Out, "out", filepath.Join("edgefn", "viewer", "dist", "edge.zip"), "the package to write")
	fs.StringVar(&o.Root, "root", ".", "repository root (the handlers' JavaScript and wasm/dist)")
	fs.StringVar(&o.Bundle, "bundle", "", "signed client bundle file (replaces the configuration's bundle/store)")
	fs.StringVar(&o.Store, "store", "", "store URL whose live client bundle is baked (replaces the configuration's bundle/store)")
	fs.StringVar(&o.JWKS, "jwks", "", "JWKS file the bundle verifies against (replaces the configuration's)")
	fs.StringVar(&o.Project, "project", "", "expected project (must equal the configuration's)")
	fs.StringVar(&o.Environment, "env", "", "expected environment (must equal the configuration's)")
	fs.BoolVar(&o.AllowMissing, "allow-missing-bundle", false, "package without a bundle when the store has none yet (defaults are served)")
	now := fs.String("now", "", "verification time, RFC 3339 (default: the current time)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *cfg == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: edgeflag-edge --config FILE [--out ZIP] [--bundle FILE | --store URL] [--jwks FILE]", ErrUsage)
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("%w: --now: %v", ErrUsage, err)
		}
		o.Now = t
	}
	rep, err := Build(ctx, *cfg, o)
	if rep != nil {
		rep.Print(stdout)
	}
	var diags config.Diagnostics
	if errors.As(err, &diags) {
		fmt.Fprintln(stderr, diags.Error())
		return fmt.Errorf("%w: %d problem(s) in %s", ErrUsage, len(diags), *cfg)
	}
	return err
}

// Print writes the report: what went in, and the size against both limits.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "module   %s  %d bytes deflated", r.Module, r.ModuleGz)
	for name, n := range r.OtherSize {
		fmt.Fprintf(w, "  (%s: %d)", name, n)
	}
	fmt.Fprintln(w)
	if r.Bundle != nil {
		c := r.Bundle
		fmt.Fprintf(w, "bundle   %s/%s client version %d, %s, expires %s", c.Project, c.Environment, c.Version, c.Algorithm, c.ExpiresAt.UTC().Format(time.RFC3339))
		if r.Resealed {
			fmt.Fprint(w, " (verified natively, re-signed EdDSA with this package's own key)")
		}
		fmt.Fprintln(w)
	}
	for _, l := range []struct {
		name  string
		limit int64
	}{{"viewer", ViewerZipLimit}, {"origin", OriginZipLimit}} {
		verdict := "fits"
		if r.Size > l.limit {
			verdict = "TOO LARGE"
		}
		fmt.Fprintf(w, "package  %-36s %9d bytes  %6.2f%% of the %d MB %s-function limit: %s\n", r.Out, r.Size,
			100*float64(r.Size)/float64(l.limit), l.limit/MB, l.name, verdict)
	}
	if r.Size > r.Limit {
		fmt.Fprintf(w, "NOT WRITTEN: %s functions take at most %d bytes; AWS would reject this package\n", r.Function, r.Limit)
	}
	for _, m := range r.Warnings {
		fmt.Fprintln(w, "warning: "+strings.TrimSpace(m))
	}
}
