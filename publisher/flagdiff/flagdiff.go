// Package flagdiff computes the flag- and segment-level differences between
// two versions of an environment (its server and client bundles), from
// which the publisher builds audit summaries and the CLI prints diffs. It
// is pure: callers read the bundles and choose the rendering.
package flagdiff

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Renderer formats the parts of a bundle that change details quote: a
// condition in the expression language, what a rule or default serves, a
// variant's name and a metadata value. The CLI passes the IR renderer it
// prints with, so a diff reads like inspect.
type Renderer interface {
	Condition(b *ir.Bundle, node int32) string
	Serve(b *ir.Bundle, f *ir.Flag, s ir.Serve) string
	Variant(f *ir.Flag, i int32) string
	Value(c ir.Const) string
}

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
// another, flags first (in key order), then segments, with conditions,
// serves and values rendered by r. A nil Server bundle is an empty
// environment (nothing published yet).
func Diff(from, to Snapshot, r Renderer) []Change {
	var out []Change
	fromFlags, toFlags := flagMap(from.Server), flagMap(to.Server)
	for _, k := range mergedKeys(fromFlags, toFlags) {
		a, b := fromFlags[k], toFlags[k]
		switch {
		case a == nil:
			out = append(out, Change{"flag", k, '+', describeFlag(r, to.Server, b)})
		case b == nil:
			out = append(out, Change{"flag", k, '-', ""})
		default:
			for _, d := range (&flagDiff{r: r, from: from, to: to}).changes(a, b) {
				out = append(out, Change{"flag", k, '~', d})
			}
		}
	}
	fromSegs, toSegs := segMap(from.Server), segMap(to.Server)
	for _, k := range mergedKeys(fromSegs, toSegs) {
		a, b := fromSegs[k], toSegs[k]
		switch {
		case a == nil:
			out = append(out, Change{"segment", k, '+', describeSegment(r, to.Server, b)})
		case b == nil:
			out = append(out, Change{"segment", k, '-', ""})
		default:
			if ca, cb := segCondition(r, from.Server, a), segCondition(r, to.Server, b); ca != cb {
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
	ks := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func describeFlag(r Renderer, b *ir.Bundle, f *ir.Flag) string {
	state := "disabled"
	if f.Enabled {
		state = "enabled"
	}
	return fmt.Sprintf("%s, %s, %d variant(s), %d rule(s), default %s", f.Type, state, len(f.Variants), len(f.Rules), r.Serve(b, f, DefaultServe(f)))
}

// DefaultServe is what an enabled flag serves when no rule matches.
func DefaultServe(f *ir.Flag) ir.Serve {
	if f.Default.Variant == ir.NoNode && len(f.Default.Split) == 0 {
		return ir.Serve{Variant: f.DefaultVariant, BucketBy: ir.NoNode}
	}
	return f.Default
}

func describeSegment(r Renderer, b *ir.Bundle, s *ir.Segment) string {
	var parts []string
	if s.When != ir.NoNode {
		parts = append(parts, "when "+r.Condition(b, s.When))
	}
	if s.KeyAttr != ir.NoNode {
		parts = append(parts, fmt.Sprintf("%d key(s) on %s", len(s.Keys)+len(s.KeyDigests), segAttr(b, s)))
	}
	return strings.Join(parts, "; ")
}

func segCondition(r Renderer, b *ir.Bundle, s *ir.Segment) string {
	if s.When == ir.NoNode {
		return "(none)"
	}
	return r.Condition(b, s.When)
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

// flagDiff compares one flag across two snapshots.
type flagDiff struct {
	r        Renderer
	from, to Snapshot
}

func (d *flagDiff) changes(a, b *ir.Flag) []string {
	var out []string
	if a.Type != b.Type {
		out = append(out, fmt.Sprintf("type: %s -> %s", a.Type, b.Type))
	}
	if a.Enabled != b.Enabled {
		out = append(out, fmt.Sprintf("enabled: %t -> %t", a.Enabled, b.Enabled))
	}
	ca, okA := inClient(d.from, a.Key)
	cb, okB := inClient(d.to, b.Key)
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
	if x, y := d.r.Variant(a, a.DefaultVariant), d.r.Variant(b, b.DefaultVariant); x != y {
		out = append(out, fmt.Sprintf("default variant: %s -> %s", x, y))
	}
	if x, y := d.r.Variant(a, a.OffVariant), d.r.Variant(b, b.OffVariant); x != y {
		out = append(out, fmt.Sprintf("off variant: %s -> %s", x, y))
	}
	if x, y := d.r.Serve(d.from.Server, a, DefaultServe(a)), d.r.Serve(d.to.Server, b, DefaultServe(b)); x != y {
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
			out = append(out, fmt.Sprintf("rule %s added: when %s serve %s", id, d.r.Condition(d.to.Server, y.When), d.r.Serve(d.to.Server, b, y.Serve)))
			continue
		}
		common = append(common, id)
		if cx, cy := d.r.Condition(d.from.Server, x.When), d.r.Condition(d.to.Server, y.When); cx != cy {
			out = append(out, fmt.Sprintf("rule %s: condition: %s -> %s", id, cx, cy))
		}
		if sx, sy := d.r.Serve(d.from.Server, a, x.Serve), d.r.Serve(d.to.Server, b, y.Serve); sx != sy {
			out = append(out, fmt.Sprintf("rule %s: serve: %s -> %s", id, sx, sy))
		}
	}
	for _, id := range ida {
		if rb[id] == nil {
			out = append(out, fmt.Sprintf("rule %s removed (was: when %s serve %s)", id, d.r.Condition(d.from.Server, ra[id].When), d.r.Serve(d.from.Server, a, ra[id].Serve)))
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
		ma[m.Key] = d.r.Value(m.Value)
	}
	for _, m := range b.Metadata {
		mb[m.Key] = d.r.Value(m.Value)
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

// Summary is the change summary of an audit record: one line per change.
func Summary(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}
