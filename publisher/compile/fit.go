package compile

import (
	"fmt"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// fitter checks, while Build adds segments and flags, that the bundle
// stays within what a verifier with default limits decodes
// (ir.DefaultLimits), and reports the first item that crosses each limit
// at its place in the config. The checks that need the encoded bytes
// (sizes, decoding, loading) are seal.Preflight's, reported by Payload.
type fitter struct {
	lim      ir.Limits
	what     string // "the production server bundle"
	ds       *Diagnostics
	reported map[string]bool

	seenConsts int // Consts already scanned for string and list sizes
	seenAttrs  int
	listElems  int
	keys       int
	variants   int
	rules      int
	weights    int
	meta       int
}

func newFitter(env string, aud ir.Audience, ds *Diagnostics) *fitter {
	return &fitter{lim: ir.DefaultLimits(), what: fmt.Sprintf("the %s %s bundle", env, aud), ds: ds, reported: map[string]bool{}}
}

// count reports n > max for one kind of count, once per bundle.
func (f *fitter) count(kind string, n, max int, pos config.Pos, path string) {
	if n > max && !f.reported[kind] {
		f.reported[kind] = true
		f.ds.Add(pos, path, "%s would hold %d %s here; verifiers accept at most %d", f.what, n, kind, max)
	}
}

// str reports a string longer than verifiers decode.
func (f *fitter) str(what string, n int, pos config.Pos, path string) {
	if n > f.lim.MaxStringLen {
		f.ds.Add(pos, path, "%s is %d bytes; verifiers accept strings of at most %d bytes", what, n, f.lim.MaxStringLen)
	}
}

// pools checks the bundle-wide tables after an item was added: what the
// item's expressions, key attribute or bucketing attributes added to them.
func (f *fitter) pools(b *ir.Bundle, pos config.Pos, path string) {
	f.count("expression nodes", len(b.Nodes), f.lim.MaxNodes, pos, path)
	f.count("list arguments", len(b.Args), f.lim.MaxArgs, pos, path)
	f.count("constants", len(b.Consts), f.lim.MaxConsts, pos, path)
	f.count("attributes", len(b.Attributes), f.lim.MaxAttributes, pos, path)
	for ; f.seenAttrs < len(b.Attributes); f.seenAttrs++ {
		f.str("attribute name", len(b.Attributes[f.seenAttrs]), pos, path)
	}
	for ; f.seenConsts < len(b.Consts); f.seenConsts++ {
		c := b.Consts[f.seenConsts]
		f.str("a string constant", len(c.Str), pos, path)
		f.listElems += len(c.List)
		for _, e := range c.List {
			f.str("a string constant", len(e.Str), pos, path)
		}
	}
	f.count("list constant elements", f.listElems, f.lim.MaxListLen, pos, path)
}

func (f *fitter) segment(b *ir.Bundle, i int, s *config.Segment) {
	seg := &b.Segments[i]
	path := "segments." + s.Name
	f.count("segments", i+1, f.lim.MaxSegments, s.Pos, path)
	f.keys += len(seg.Keys) + len(seg.KeyDigests)
	f.count("segment keys", f.keys, f.lim.MaxKeys, s.KeysPos, path+".keys")
	for _, k := range seg.Keys {
		f.str("a segment key", len(k), s.KeysPos, path+".keys")
	}
	f.pools(b, s.Pos, path)
}

func (f *fitter) flag(b *ir.Bundle, i int, cf *config.Flag) {
	fl := &b.Flags[i]
	path := "flags." + cf.Key
	f.count("flags", i+1, f.lim.MaxFlags, cf.Pos, path)
	f.variants += len(fl.Variants)
	f.count("variants", f.variants, f.lim.MaxVariants, cf.VariantsPos, path+".variants")
	f.rules += len(fl.Rules)
	f.count("rules", f.rules, f.lim.MaxRules, cf.Pos, path)
	f.weights += len(fl.Default.Split)
	for _, r := range fl.Rules {
		f.weights += len(r.Serve.Split)
	}
	f.count("split arms", f.weights, f.lim.MaxWeights, cf.Pos, path)
	f.meta += len(fl.Metadata)
	f.count("metadata entries", f.meta, f.lim.MaxMeta, cf.Pos, path)
	for _, v := range cf.Variants {
		f.str("the value", len(v.Value), v.Pos, path+".variants."+v.Name)
	}
	for _, m := range fl.Metadata {
		f.str("the "+m.Key, len(m.Value.Str), cf.Pos, path+"."+m.Key)
	}
	f.pools(b, cf.Pos, path)
}
