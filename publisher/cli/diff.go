package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/flagdiff"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// Snapshot is one version of an environment as flagdiff compares it.
type Snapshot = flagdiff.Snapshot

// renderer renders change details as inspect prints conditions and serves.
type renderer struct{}

func (renderer) Condition(b *ir.Bundle, node int32) string         { return FormatCondition(b, node) }
func (renderer) Serve(b *ir.Bundle, f *ir.Flag, s ir.Serve) string { return FormatServe(b, f, s) }
func (renderer) Variant(f *ir.Flag, i int32) string                { return variantName(f, i) }
func (renderer) Value(c ir.Const) string                           { return formatConst(c) }

// diffOf is the flag-level diff the CLI prints and records.
func diffOf(from, to Snapshot) []flagdiff.Change { return flagdiff.Diff(from, to, renderer{}) }

// printChanges writes changes grouped by flag or segment.
func printChanges(w io.Writer, cs []flagdiff.Change) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "no flag changes")
		return
	}
	for i, c := range cs {
		switch c.Op {
		case '+':
			fmt.Fprintf(w, "+ %s %s (%s)\n", c.Kind, c.Name, c.Detail)
		case '-':
			fmt.Fprintf(w, "- %s %s\n", c.Kind, c.Name)
		default:
			if i == 0 || cs[i-1].Kind != c.Kind || cs[i-1].Name != c.Name || cs[i-1].Op != '~' {
				fmt.Fprintf(w, "~ %s %s\n", c.Kind, c.Name)
			}
			fmt.Fprintf(w, "    %s\n", c.Detail)
		}
	}
}

// readSnapshot reads both audiences of a published version.
func readSnapshot(ctx context.Context, p *store.Publisher, project, env string, version uint64, jwks []envelope.Key) (Snapshot, error) {
	var s Snapshot
	for _, aud := range audiences {
		data, err := p.ReadVersion(ctx, project, env, version, aud.String())
		if err != nil {
			if aud == ir.AudienceClient && errors.Is(err, store.ErrNotFound) {
				continue
			}
			return Snapshot{}, err
		}
		b, err := readBundle(data, jwks)
		if err != nil {
			return Snapshot{}, fmt.Errorf("version %d %s bundle: %w", version, aud, err)
		}
		if aud == ir.AudienceServer {
			s.Server = b
		} else {
			s.Client = b
		}
	}
	return s, nil
}

func (e *Env) diff(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	envName := fs.String("env", "", "environment (`ENV`)")
	storeURL := fs.String("store", "", "store `URL` (file://PATH or s3://bucket/prefix)")
	jwksPath := fs.String("jwks", "", "verify published bundles against this JWKS `FILE`")
	project := fs.String("project", "", "project (`P`, version mode)")
	fromV := fs.Uint64("from", 0, "older published `version` (version mode)")
	toV := fs.Uint64("to", 0, "newer published `version` (version mode)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *envName == "" || *storeURL == "" {
		return e.usageErr(fs, "--env and --store are required")
	}
	if err := checkNames("--project", *project, "--env", *envName); err != nil {
		return err
	}
	if len(pos) > 1 {
		return e.usageErr(fs, "expected at most one DIR argument")
	}
	jwks, err := loadJWKS(*jwksPath)
	if err != nil {
		return err
	}
	blob, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	p := store.NewPublisher(blob)
	p.Now = e.now
	var from, to Snapshot
	var fromName, toName string
	if len(pos) == 1 {
		if *fromV != 0 || *toV != 0 || *project != "" {
			return e.usageErr(fs, "--project, --from and --to are for comparing two published versions (no DIR)")
		}
		doc, err := e.loadDoc(pos[0], e.now(), false)
		if err != nil {
			return err
		}
		for _, aud := range audiences {
			b, err := e.compileEnv(doc, *envName, aud)
			if err != nil {
				return err
			}
			if aud == ir.AudienceServer {
				to.Server = b
			} else {
				to.Client = b
			}
		}
		toName = pos[0]
		ptr, _, err := p.ReadPointer(ctx, doc.Project, *envName)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fromName = "(nothing published)"
		case err != nil:
			return err
		default:
			if from, err = readSnapshot(ctx, p, doc.Project, *envName, ptr.Version, jwks); err != nil {
				return err
			}
			fromName = fmt.Sprintf("published version %d", ptr.Version)
		}
	} else {
		if *project == "" || *fromV == 0 || *toV == 0 {
			return e.usageErr(fs, "give DIR, or --project with --from and --to")
		}
		if from, err = readSnapshot(ctx, p, *project, *envName, *fromV, jwks); err != nil {
			return err
		}
		if to, err = readSnapshot(ctx, p, *project, *envName, *toV, jwks); err != nil {
			return err
		}
		fromName, toName = "version "+strconv.FormatUint(*fromV, 10), "version "+strconv.FormatUint(*toV, 10)
	}
	fmt.Fprintf(e.Stdout, "--- %s\n+++ %s\n", fromName, toName)
	if jwks == nil {
		fmt.Fprintln(e.Stdout, "# published bundles NOT verified (no --jwks given)")
	} else {
		fmt.Fprintln(e.Stdout, "# published bundles verified against "+*jwksPath)
	}
	printChanges(e.Stdout, diffOf(from, to))
	return nil
}
