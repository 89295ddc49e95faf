// Package compile turns a loaded config.Document into per-environment
// ir.Bundles (Build) and checks a document for mistakes (Lint).
package compile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/expr"
)

// DefaultBucketBy is the attribute splits bucket on, and segment key lists
// look up, when the config names none.
const DefaultBucketBy = "targetingKey"

// Build compiles the document's flags for one environment and audience.
// Counts and strings a verifier with default limits would refuse are
// errors at the first segment or flag that crosses each limit.
//
// The result is deterministic: the same document, environment and audience
// always give an identical Bundle (and so, through ir.Encode, identical
// bytes). On any error-severity diagnostic the bundle is nil. doc should be
// free of load errors (config.Load's diagnostics); Build reports only the
// problems that stop this environment's bundle from being built, Lint
// reports the rest.
func Build(doc *config.Document, env string, aud ir.Audience) (*ir.Bundle, Diagnostics) {
	var ds Diagnostics
	if aud != ir.AudienceServer && aud != ir.AudienceClient {
		ds.Add(config.Pos{}, "", "build: invalid audience %d", aud)
		return nil, ds
	}
	if !envDeclared(doc, env) {
		var names []string
		for _, e := range doc.Environments {
			names = append(names, e.Name)
		}
		ds.Add(doc.ProjectPos, "environments", "environment %q is not declared (declared: %s)%s", env, strings.Join(names, ", "), config.DidYouMean(env, names))
		return nil, ds
	}
	a := analyze(doc, env, &ds)
	live := liveFlags(doc)
	wellFormed(doc, env, &ds)
	for _, f := range live {
		checkFlag(f, env, &ds)
	}
	a.cycles(env, map[string]bool{}, &ds)
	lintExperiments(doc, env, &ds)

	// Choose the bundle's flags and segments.
	flags := live
	segs := doc.Segments
	if aud == ir.AudienceClient {
		flags, segs = a.clientSet(env, live, &ds)
	}
	if ds.HasErrors() {
		ds.Sort()
		return nil, ds
	}

	b := ir.NewBuilder(doc.Project, env, aud)
	xenv := newEnv(doc, segs, flags)
	fit := newFitter(env, aud, &ds)
	for i, s := range segs {
		b.Bundle.Segments = append(b.Bundle.Segments, buildSegment(doc, env, aud, s, xenv, b, &ds))
		fit.segment(b.Bundle, i, s)
	}
	exps := experimentsOf(doc, env)
	for i, f := range flags {
		b.Bundle.Flags = append(b.Bundle.Flags, buildFlag(f, env, aud, xenv, b, &ds))
		if d, ok := exps[f.Key]; ok && aud == ir.AudienceServer {
			d.AttachTo(&b.Bundle.Flags[i]) // before fit: its size counts
		}
		fit.flag(b.Bundle, i, f)
	}
	ds.Sort()
	if ds.HasErrors() {
		return nil, ds
	}
	return b.Bundle, ds
}

// wellFormed reports the incomplete definitions a document with load
// errors can hold, so that Build never produces an invalid bundle from it.
func wellFormed(doc *config.Document, env string, ds *Diagnostics) {
	for _, f := range doc.Flags {
		if f.Status == config.StatusArchived {
			continue
		}
		p := "flags." + f.Key
		if f.Type == 0 || len(f.Variants) == 0 || f.DefaultVariant.Name == "" {
			ds.Add(f.Pos, p, "incomplete flag definition (needs a valid type, variants and defaultVariant)")
			continue
		}
		fe := flagEnv(f, env)
		if fe == nil {
			continue
		}
		for i, r := range fe.Rules {
			if r.When == nil {
				ds.Add(r.Pos, rulePath(f, fe, i)+".when", "missing condition")
			}
			if r.Serve.IsSplit() && len(r.Serve.Split) == 0 {
				ds.Add(r.Pos, rulePath(f, fe, i), "nothing to serve")
			}
		}
		if fe.Default != nil && fe.Default.IsSplit() && len(fe.Default.Split) == 0 {
			ds.Add(fe.Default.Pos, p+".environments."+env+".default", "nothing to serve")
		}
	}
	for _, s := range doc.Segments {
		if s.When == nil && !s.HasKeys {
			ds.Add(s.Pos, "segments."+s.Name, "incomplete segment definition (needs when or keys)")
		}
	}
}

func envDeclared(doc *config.Document, env string) bool {
	for _, e := range doc.Environments {
		if e.Name == env {
			return true
		}
	}
	return false
}

// clientSet returns the client-side flags and the segments they use,
// transitively through segments and prerequisites, reporting client flags
// that depend on flags the client bundle cannot hold.
func (a *analysis) clientSet(env string, live []*config.Flag, ds *Diagnostics) ([]*config.Flag, []*config.Segment) {
	client := map[string]bool{}
	var flags []*config.Flag
	for _, f := range live {
		if f.ClientSide {
			client[f.Key] = true
			flags = append(flags, f)
		}
	}
	usedSegs := map[string]bool{}
	var visitSeg func(name string, from *config.Flag, pos config.Pos, path string)
	checkInfo := func(info expr.Info, from *config.Flag, pos config.Pos, path string) {
		for _, k := range info.Flags {
			if !client[k] {
				ds.Add(pos, path, "client-side flag %q depends on flag %q, which is not clientSide: the client bundle could not evaluate it", from.Key, k)
			}
		}
		for _, s := range info.Segments {
			visitSeg(s, from, pos, path)
		}
	}
	visitSeg = func(name string, from *config.Flag, pos config.Pos, path string) {
		if usedSegs[name] {
			return
		}
		usedSegs[name] = true
		if info, ok := a.segInfo[name]; ok {
			checkInfo(info, from, pos, path)
		}
	}
	for _, f := range flags {
		fe := flagEnv(f, env)
		if fe == nil {
			continue
		}
		for i, r := range fe.Rules {
			if info, ok := a.ruleInfo[r]; ok {
				checkInfo(info, f, r.When.Pos, rulePath(f, fe, i)+".when")
			}
		}
	}
	var segs []*config.Segment
	for _, s := range a.doc.Segments {
		if usedSegs[s.Name] {
			segs = append(segs, s)
		}
	}
	return flags, segs
}

// KeySalt returns the deterministic salt of a segment's key digests in a
// client bundle: the first 16 bytes of SHA-256 over a domain tag, the
// project, the environment and the segment name. It differs per bundle so
// that a digest table precomputed for one bundle does not apply to another;
// it does not hide low-entropy keys from someone who can enumerate them.
func KeySalt(project, env, segment string) []byte {
	h := sha256.New()
	h.Write([]byte("edgeflag segment key salt v1\x00"))
	h.Write([]byte(project))
	h.Write([]byte{0})
	h.Write([]byte(env))
	h.Write([]byte{0})
	h.Write([]byte(segment))
	return h.Sum(nil)[:16]
}

// KeyDigest returns SHA-256(salt || key), the form in which client bundles
// carry static segment keys.
func KeyDigest(salt []byte, key string) [32]byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(key))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func buildSegment(doc *config.Document, env string, aud ir.Audience, s *config.Segment, xenv *expr.Env, b *ir.Builder, ds *Diagnostics) ir.Segment {
	seg := ir.Segment{Name: s.Name, When: ir.NoNode, KeyAttr: ir.NoNode}
	if s.When != nil {
		if info, ok := compileExpr(s.When, xenv, b, "segments."+s.Name+".when", ds); ok {
			seg.When = info.Root
		}
	}
	if s.HasKeys {
		attr := s.Attribute
		if attr == "" {
			attr = DefaultBucketBy
		}
		seg.KeyAttr = b.Attr(attr)
		keys := append([]string(nil), s.Keys...)
		sort.Strings(keys)
		keys = dedupe(keys)
		if aud == ir.AudienceClient {
			seg.KeySalt = KeySalt(doc.Project, env, s.Name)
			seg.KeyDigests = make([][32]byte, len(keys))
			for i, k := range keys {
				seg.KeyDigests[i] = KeyDigest(seg.KeySalt, k)
			}
			sort.Slice(seg.KeyDigests, func(i, j int) bool {
				return bytes.Compare(seg.KeyDigests[i][:], seg.KeyDigests[j][:]) < 0
			})
		} else {
			seg.Keys = keys
		}
	}
	return seg
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, k := range sorted {
		if i == 0 || k != sorted[i-1] {
			out = append(out, k)
		}
	}
	return out
}

func buildFlag(f *config.Flag, env string, aud ir.Audience, xenv *expr.Env, b *ir.Builder, ds *Diagnostics) ir.Flag {
	out := ir.Flag{Key: f.Key, Type: f.Type, Salt: f.Key}
	vars := append([]*config.Variant(nil), f.Variants...)
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	index := map[string]int32{}
	for i, v := range vars {
		index[v.Name] = int32(i)
		out.Variants = append(out.Variants, ir.Variant{Name: v.Name, Value: append([]byte(nil), v.Value...)})
	}
	out.DefaultVariant = index[f.DefaultVariant.Name]
	out.OffVariant = out.DefaultVariant
	if f.OffVariant.Name != "" {
		out.OffVariant = index[f.OffVariant.Name]
	}
	out.Default = ir.Serve{Variant: out.DefaultVariant, BucketBy: ir.NoNode}
	fe := flagEnv(f, env)
	if fe != nil {
		out.Enabled = fe.Enabled && f.Status == config.StatusActive
		for i, r := range fe.Rules {
			rp := rulePath(f, fe, i)
			id := r.Name
			if id == "" {
				id = fmt.Sprintf("rule-%d", i+1)
			}
			rule := ir.Rule{ID: id, When: ir.NoNode}
			if info, ok := compileExpr(r.When, xenv, b, rp+".when", ds); ok {
				rule.When = info.Root
			}
			rule.Serve = buildServe(&r.Serve, index, b)
			out.Rules = append(out.Rules, rule)
		}
		if fe.Default != nil {
			out.Default = buildServe(fe.Default, index, b)
		}
	}
	if aud == ir.AudienceServer {
		if f.Description != "" {
			out.Metadata = append(out.Metadata, ir.Meta{Key: "description", Value: ir.Const{Kind: ir.ConstString, Str: f.Description}})
		}
		if f.Owner != "" {
			out.Metadata = append(out.Metadata, ir.Meta{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: f.Owner}})
		}
	}
	return out
}

func buildServe(s *config.Serve, index map[string]int32, b *ir.Builder) ir.Serve {
	if !s.IsSplit() {
		return ir.Serve{Variant: index[s.Variant.Name], BucketBy: ir.NoNode}
	}
	out := ir.Serve{Variant: ir.NoNode}
	for _, w := range s.Split {
		out.Split = append(out.Split, ir.Weight{Variant: index[w.Variant], Weight: uint32(w.Weight)})
	}
	attr := s.BucketBy
	if attr == "" {
		attr = DefaultBucketBy
	}
	out.BucketBy = b.Attr(attr)
	return out
}
