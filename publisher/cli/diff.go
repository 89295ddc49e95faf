package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// Snapshot is one version of an environment as Diff compares it: the server
// bundle (every flag and segment) and, when known, the client bundle (whose
// flags are the client-side ones).
type Snapshot struct {
	Server *ir.Bundle
	Client *ir.Bundle
}

// Change is one flag-level difference between two snapshots.
type Change struct {
	// Kind is "flag" or "segment"; Name its key or name.
	Kind, Name string
	// Op is '+' (added), '-' (removed) or '~' (changed).
	Op byte
	// Detail says what changed ("rule na-pro: serve: on -> split on:50 off:50");
	// for added and removed items a short description.
	Detail string
}

// String is the one-line form used in audit summaries:
// "~ flag new-checkout: rule staff: removed".
func (c Change) String() string {
	s := string(c.Op) + " " + c.Kind + " " + c.Name
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Diff returns the flag- and segment-level differences from one snapshot to
// another, flags first (in key order), then segments. A nil Server bundle is
// an empty environment (nothing published yet).
func Diff(from, to Snapshot) []Change {
	var out []Change
	fromFlags, toFlags := flagMap(from.Server), flagMap(to.Server)
	for _, k := range mergedKeys(fromFlags, toFlags) {
		a, b := fromFlags[k], toFlags[k]
		switch {
		case a == nil:
			out = append(out, Change{"flag", k, '+', describeFlag(to.Server, b)})
		case b == nil:
			out = append(out, Change{"flag", k, '-', ""})
		default:
			for _, d := range diffFlag(from, to, a, b) {
				out = append(out, Change{"flag", k, '~', d})
			}
		}
	}
	fromSegs, toSegs := segMap(from.Server), segMap(to.Server)
	for _, k := range mergedKeys(fromSegs, toSegs) {
		a, b := fromSegs[k], toSegs[k]
		switch {
		case a == nil:
			out = append(out, Change{"segment", k, '+', describeSegment(to.Server, b)})
		case b == nil:
			out = append(out, Change{"segment", k, '-', ""})
		default:
			if ca, cb := segCondition(from.Server, a), segCondition(to.Server, b); ca != cb {
				out = append(out, Change{"segment", k, '~', "condition: " + ca + " -> " + cb})
			}
			if ka, kb := segAttr(from.Server, a), segAttr(to.Server, b); ka != kb {
				out = append(out, Change{"segment", k, '~', "key attribute: " + ka + " -> " + kb})
			}
			if added, removed := keyDelta(a.Keys, b.Keys); added+removed > 0 {
				out = append(out, Change{"segment", k, '~', fmt.Sprintf("keys: %d -> %d (+%d -%d)", len(a.Keys), len(b.Keys), added, removed)})
			}
		}
	}
	return out
}

func flagMap(b *ir.Bundle) map[string]*ir.Flag {
	m := map[string]*ir.Flag{}
	if b != nil {
		for i := range b.Flags {
			m[b.Flags[i].Key] = &b.Flags[i]
		}
	}
	return m
}

func segMap(b *ir.Bundle) map[string]*ir.Segment {
	m := map[string]*ir.Segment{}
	if b != nil {
		for i := range b.Segments {
			m[b.Segments[i].Name] = &b.Segments[i]
		}
	}
	return m
}

func mergedKeys[V any](a, b map[string]V) []string {
	ks := sortedKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func describeFlag(b *ir.Bundle, f *ir.Flag) string {
	state := "disabled"
	if f.Enabled {
		state = "enabled"
	}
	return fmt.Sprintf("%s, %s, %d variant(s), %d rule(s), default %s", f.Type, state, len(f.Variants), len(f.Rules), FormatServe(b, f, defaultServe(f)))
}

// defaultServe is what an enabled flag serves when no rule matches.
func defaultServe(f *ir.Flag) ir.Serve {
	if f.Default.Variant == ir.NoNode && len(f.Default.Split) == 0 {
		return ir.Serve{Variant: f.DefaultVariant, BucketBy: ir.NoNode}
	}
	return f.Default
}

func describeSegment(b *ir.Bundle, s *ir.Segment) string {
	var parts []string
	if s.When != ir.NoNode {
		parts = append(parts, "when "+FormatCondition(b, s.When))
	}
	if s.KeyAttr != ir.NoNode {
		parts = append(parts, fmt.Sprintf("%d key(s) on %s", len(s.Keys)+len(s.KeyDigests), segAttr(b, s)))
	}
	return strings.Join(parts, "; ")
}

func segCondition(b *ir.Bundle, s *ir.Segment) string {
	if s.When == ir.NoNode {
		return "(none)"
	}
	return FormatCondition(b, s.When)
}

func segAttr(b *ir.Bundle, s *ir.Segment) string {
	if s.KeyAttr == ir.NoNode || int(s.KeyAttr) >= len(b.Attributes) {
		return "(none)"
	}
	return b.Attributes[s.KeyAttr]
}

func keyDelta(a, b []string) (added, removed int) {
	in := func(xs []string, x string) bool { _, ok := slices.BinarySearch(xs, x); return ok }
	for _, k := range b {
		if !in(a, k) {
			added++
		}
	}
	for _, k := range a {
		if !in(b, k) {
			removed++
		}
	}
	return added, removed
}

func inClient(s Snapshot, key string) (bool, bool) {
	if s.Client == nil {
		return false, false
	}
	_, ok := slices.BinarySearchFunc(s.Client.Flags, key, func(f ir.Flag, k string) int { return strings.Compare(f.Key, k) })
	return ok, true
}

func diffFlag(from, to Snapshot, a, b *ir.Flag) []string {
	var out []string
	if a.Type != b.Type {
		out = append(out, fmt.Sprintf("type: %s -> %s", a.Type, b.Type))
	}
	if a.Enabled != b.Enabled {
		out = append(out, fmt.Sprintf("enabled: %t -> %t", a.Enabled, b.Enabled))
	}
	ca, okA := inClient(from, a.Key)
	cb, okB := inClient(to, b.Key)
	if okA && okB && ca != cb {
		out = append(out, fmt.Sprintf("client-side: %t -> %t", ca, cb))
	}
	// Variants by name.
	va, vb := map[string]string{}, map[string]string{}
	for _, v := range a.Variants {
		va[v.Name] = string(v.Value)
	}
	for _, v := range b.Variants {
		vb[v.Name] = string(v.Value)
	}
	for _, n := range mergedKeys(va, vb) {
		x, okx := va[n]
		y, oky := vb[n]
		switch {
		case !okx:
			out = append(out, fmt.Sprintf("variant %s added: %s", n, y))
		case !oky:
			out = append(out, fmt.Sprintf("variant %s removed (was %s)", n, x))
		case x != y:
			out = append(out, fmt.Sprintf("variant %s: %s -> %s", n, x, y))
		}
	}
	if x, y := variantName(a, a.DefaultVariant), variantName(b, b.DefaultVariant); x != y {
		out = append(out, fmt.Sprintf("default variant: %s -> %s", x, y))
	}
	if x, y := variantName(a, a.OffVariant), variantName(b, b.OffVariant); x != y {
		out = append(out, fmt.Sprintf("off variant: %s -> %s", x, y))
	}
	if x, y := FormatServe(from.Server, a, defaultServe(a)), FormatServe(to.Server, b, defaultServe(b)); x != y {
		out = append(out, fmt.Sprintf("default: %s -> %s", x, y))
	}
	// Rules by id.
	ra, rb := map[string]*ir.Rule{}, map[string]*ir.Rule{}
	var ida, idb []string
	for i := range a.Rules {
		ra[a.Rules[i].ID] = &a.Rules[i]
		ida = append(ida, a.Rules[i].ID)
	}
	for i := range b.Rules {
		rb[b.Rules[i].ID] = &b.Rules[i]
		idb = append(idb, b.Rules[i].ID)
	}
	var common []string
	for _, id := range idb {
		x, y := ra[id], rb[id]
		if x == nil {
			out = append(out, fmt.Sprintf("rule %s added: when %s serve %s", id, FormatCondition(to.Server, y.When), FormatServe(to.Server, b, y.Serve)))
			continue
		}
		common = append(common, id)
		if cx, cy := FormatCondition(from.Server, x.When), FormatCondition(to.Server, y.When); cx != cy {
			out = append(out, fmt.Sprintf("rule %s: condition: %s -> %s", id, cx, cy))
		}
		if sx, sy := FormatServe(from.Server, a, x.Serve), FormatServe(to.Server, b, y.Serve); sx != sy {
			out = append(out, fmt.Sprintf("rule %s: serve: %s -> %s", id, sx, sy))
		}
	}
	for _, id := range ida {
		if rb[id] == nil {
			out = append(out, fmt.Sprintf("rule %s removed (was: when %s serve %s)", id, FormatCondition(from.Server, ra[id].When), FormatServe(from.Server, a, ra[id].Serve)))
		}
	}
	var keptOrder []string
	for _, id := range ida {
		if rb[id] != nil {
			keptOrder = append(keptOrder, id)
		}
	}
	if !slices.Equal(keptOrder, common) {
		out = append(out, fmt.Sprintf("rule order: %s -> %s", strings.Join(keptOrder, ", "), strings.Join(common, ", ")))
	}
	if a.Salt != b.Salt {
		out = append(out, fmt.Sprintf("bucketing salt: %q -> %q", a.Salt, b.Salt))
	}
	ma, mb := map[string]string{}, map[string]string{}
	for _, m := range a.Metadata {
		ma[m.Key] = formatConst(m.Value)
	}
	for _, m := range b.Metadata {
		mb[m.Key] = formatConst(m.Value)
	}
	for _, k := range mergedKeys(ma, mb) {
		x, okx := ma[k]
		y, oky := mb[k]
		switch {
		case !okx:
			out = append(out, fmt.Sprintf("metadata %s added: %s", k, y))
		case !oky:
			out = append(out, fmt.Sprintf("metadata %s removed", k))
		case x != y:
			out = append(out, fmt.Sprintf("metadata %s: %s -> %s", k, x, y))
		}
	}
	return out
}

// printChanges writes changes grouped by flag or segment.
func printChanges(w io.Writer, cs []Change) {
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

// summary is the audit record's change summary.
func summary(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
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
	printChanges(e.Stdout, Diff(from, to))
	return nil
}
