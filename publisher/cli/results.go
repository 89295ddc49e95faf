package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// findExperiment reads the experiment key from the published server
// bundles of project/env: the live version first, then older published
// versions (an experiment removed from the config after it ended is
// still found). It returns the definition, the split shares and the
// version it came from.
func findExperiment(ctx context.Context, p *store.Publisher, project, env, key string, jwks []envelope.Key) (experiment.Definition, []float64, uint64, error) {
	var none experiment.Definition
	versions, err := p.Versions(ctx, project, env)
	if err != nil {
		return none, nil, 0, err
	}
	if len(versions) == 0 {
		return none, nil, 0, invalidf("nothing is published for %s/%s", project, env)
	}
	for _, v := range slices.Backward(versions) {
		data, err := p.ReadVersion(ctx, project, env, v, ir.AudienceServer.String())
		if err != nil {
			return none, nil, 0, err
		}
		b, err := readBundle(data, jwks)
		if err != nil {
			return none, nil, 0, fmt.Errorf("version %d server bundle: %w", v, err)
		}
		d, ok, err := experiment.Find(b, env, key)
		if err != nil {
			return none, nil, 0, fmt.Errorf("version %d: %w", v, err)
		}
		if ok {
			shares, _ := experiment.Shares(b, &d)
			return d, shares, v, nil
		}
	}
	return none, nil, 0, invalidf("no experiment %q in any published version of %s/%s (declare it under experiments: and publish)", key, project, env)
}

func (e *Env) results(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	storeURL := fs.String("store", "", "store `URL` (file://PATH or s3://bucket/prefix)")
	project := fs.String("project", "", "project (`P`)")
	envName := fs.String("env", "", "environment (`ENV`)")
	jwksPath := fs.String("jwks", "", "verify the published bundle holding the experiment against this JWKS `FILE`")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report to `OUT`")
	nowFlag := fs.String("now", "", "analyse as of this RFC 3339 time (default: now)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one EXPERIMENT argument")
	}
	if err := e.requireTarget(fs, *storeURL, *project, *envName); err != nil {
		return err
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
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
	def, shares, version, err := findExperiment(ctx, p, *project, *envName, pos[0], jwks)
	if err != nil {
		return err
	}
	var bad []string
	r, err := experiment.Run(ctx, blob, *project, *envName, def, shares, now, func(key string, line int, err error) {
		if len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("%s:%d: %v", key, line, err))
		}
	})
	if err != nil {
		return err
	}
	for _, b := range bad {
		fmt.Fprintf(e.Stderr, "edgeflag: results: skipped %s\n", b)
	}
	if jwks == nil {
		fmt.Fprintf(e.Stderr, "edgeflag: results: experiment read from version %d, NOT verified (no --jwks given)\n", version)
	}
	if *htmlOut != "" {
		var buf bytes.Buffer
		if err := experiment.WriteHTML(&buf, r); err != nil {
			return err
		}
		if err := writeFileAtomic(*htmlOut, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "edgeflag: results: wrote %s\n", *htmlOut)
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printResults(e.Stdout, r)
	return nil
}

// printResults writes the text report.
func printResults(w io.Writer, r *experiment.Results) {
	fmt.Fprintf(w, "experiment %s: flag %s in %s/%s, %s (%s to %s)\n", r.Experiment, r.Flag, r.Project, r.Environment, r.Status, r.Start, r.End)
	reached := "reached"
	if !r.SampleReached {
		reached = "NOT reached"
	}
	fmt.Fprintf(w, "conversions: %s; minimum sample %d units per variant: %s\n\n", strings.Join(r.Conversions, ", "), r.MinimumSample, reached)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tsplit\texposed\tconverted\trate\t95% CI\tlift\t95% CI\trel. lift\t95% CI\tp-value\t")
	for _, v := range r.Variants {
		c := v.Cells("-", " .. ")
		cells := []string{v.Variant, c.Share, strconv.Itoa(v.Exposed), strconv.Itoa(v.Converted), c.Rate, c.RateCI,
			c.Lift, c.LiftCI, c.RelativeLift, c.RelativeLiftCI, c.PValue}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
	switch {
	case r.SRMPValue == nil:
		fmt.Fprintln(w, "sample ratio: not tested")
	case r.SRM:
		fmt.Fprintf(w, "sample ratio: MISMATCH, p = %.3g (chi-square %.2f)\n", *r.SRMPValue, *r.SRMChiSquare)
	default:
		fmt.Fprintf(w, "sample ratio: consistent with the split, p = %.3g (chi-square %.2f)\n", *r.SRMPValue, *r.SRMChiSquare)
	}
	q := r.Quality
	fmt.Fprintf(w, "data quality: %d outside the window, %d duplicates, %d units exposed to several variants, %d exposures to other variants, %d converted units never exposed, %d unreadable\n",
		q.OutsideWindow, q.Duplicates, q.MultipleVariants, q.OtherVariants, q.ConvertedNotExposed, q.Unreadable)
	fmt.Fprintf(w, "scanned %d events in %d batches (partitions %s to %s)\n", r.Scanned.Events, r.Scanned.Batches, r.Scanned.From, r.Scanned.To)
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
}
