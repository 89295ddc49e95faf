package compile

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/expr"
)

// Diagnostics is the config package's diagnostic list, shared so that a CLI
// can merge load, lint and build problems into one sorted report.
type Diagnostics = config.Diagnostics

// analysis holds what every check and the compiler need to know about the
// document: its expressions compiled once against the full definitions.
type analysis struct {
	doc *config.Document
	env *expr.Env
	// segInfo and ruleInfo hold the Info of expressions that compiled;
	// an expression with errors is absent.
	segInfo  map[string]expr.Info
	ruleInfo map[*config.Rule]expr.Info
	attrs    map[string]config.AttrType
}

// newEnv returns the expression environment for the given segments and
// flags (the bundle's, or the whole document's).
func newEnv(doc *config.Document, segs []*config.Segment, flags []*config.Flag) *expr.Env {
	env := &expr.Env{Segments: map[string]bool{}, Flags: map[string][]string{}}
	if doc.HasContext {
		env.Attrs = map[string]expr.Type{}
		for _, a := range doc.Context {
			t, err := expr.ParseType(string(a.Type))
			if err != nil {
				t = expr.TypeDyn // already reported by the loader
			}
			env.Attrs[a.Name] = t
		}
	}
	for _, s := range segs {
		env.Segments[s.Name] = true
	}
	for _, f := range flags {
		names := make([]string, len(f.Variants))
		for i, v := range f.Variants {
			names[i] = v.Name
		}
		env.Flags[f.Key] = names
	}
	return env
}

// liveFlags returns the flags that are not archived (archived flags are
// left out of bundles and cannot be referenced).
func liveFlags(doc *config.Document) []*config.Flag {
	var out []*config.Flag
	for _, f := range doc.Flags {
		if f.Status != config.StatusArchived {
			out = append(out, f)
		}
	}
	return out
}

func flagEnv(f *config.Flag, env string) *config.FlagEnv {
	for _, e := range f.Environments {
		if e.Name == env {
			return e
		}
	}
	return nil
}

func rulePath(f *config.Flag, fe *config.FlagEnv, i int) string {
	return fmt.Sprintf("flags.%s.environments.%s.rules[%d]", f.Key, fe.Name, i)
}

// analyze compiles every segment condition and every rule condition of the
// given environment blocks ("" = all) of all flags (archived included, so
// that lint still checks them) against the whole document, reporting
// expression errors at their file positions.
func analyze(doc *config.Document, envName string, ds *Diagnostics) *analysis {
	a := &analysis{
		doc:      doc,
		env:      newEnv(doc, doc.Segments, liveFlags(doc)),
		segInfo:  map[string]expr.Info{},
		ruleInfo: map[*config.Rule]expr.Info{},
		attrs:    map[string]config.AttrType{},
	}
	for _, at := range doc.Context {
		a.attrs[at.Name] = at.Type
	}
	scratch := ir.NewBuilder(doc.Project, envName, ir.AudienceServer)
	for _, s := range doc.Segments {
		if s.When == nil {
			continue
		}
		if info, ok := compileExpr(s.When, a.env, scratch, "segments."+s.Name+".when", ds); ok {
			a.segInfo[s.Name] = info
		}
	}
	for _, f := range doc.Flags {
		for _, fe := range f.Environments {
			if envName != "" && fe.Name != envName {
				continue
			}
			for i, r := range fe.Rules {
				if r.When == nil {
					continue
				}
				if info, ok := compileExpr(r.When, a.env, scratch, rulePath(f, fe, i)+".when", ds); ok {
					a.ruleInfo[r] = info
				}
			}
		}
	}
	return a
}

// compileExpr compiles one expression, mapping its errors to file
// positions.
func compileExpr(e *config.Expr, env *expr.Env, b *ir.Builder, path string, ds *Diagnostics) (expr.Info, bool) {
	info, errs := expr.Compile(e.Src, env, b)
	for _, err := range errs {
		ds.Add(e.PosAt(err.Line, err.Col), path, "%s", err.Msg)
	}
	return info, len(errs) == 0
}

// checkFlag checks a flag's variant references and splits, in the given
// environment ("" = every environment block).
func checkFlag(f *config.Flag, envName string, ds *Diagnostics) {
	path := "flags." + f.Key
	names := make([]string, len(f.Variants))
	for i, v := range f.Variants {
		names[i] = v.Name
	}
	has := func(n string) bool {
		for _, v := range names {
			if v == n {
				return true
			}
		}
		return false
	}
	ref := func(r config.Ref, p string) {
		if r.Name != "" && len(names) > 0 && !has(r.Name) {
			ds.Add(r.Pos, p, "undefined variant %q (variants: %s)%s", r.Name, strings.Join(names, ", "), config.DidYouMean(r.Name, names))
		}
	}
	ref(f.DefaultVariant, path+".defaultVariant")
	ref(f.OffVariant, path+".offVariant")
	serve := func(s *config.Serve, p string) {
		if !s.IsSplit() {
			ref(s.Variant, p+".serve")
			return
		}
		var sum int64
		seen := map[string]config.Pos{}
		for _, w := range s.Split {
			wp := p + ".split." + w.Variant
			ref(config.Ref{Name: w.Variant, Pos: w.Pos}, wp)
			if prev, dup := seen[w.Variant]; dup {
				ds.Add(w.Pos, wp, "variant %q appears twice in the split (first at %s)", w.Variant, prev)
			}
			seen[w.Variant] = w.Pos
			if w.Weight < 0 {
				ds.Add(w.Pos, wp, "negative weight %d (weights are integers >= 0)", w.Weight)
				continue
			}
			sum += w.Weight
		}
		switch {
		case len(s.Split) > 0 && sum == 0:
			ds.Add(s.SplitPos, p+".split", "all weights are zero: the split can serve nothing")
		case sum > math.MaxUint32:
			ds.Add(s.SplitPos, p+".split", "weights sum to %d, over the maximum %d", sum, uint32(math.MaxUint32))
		}
	}
	for _, fe := range f.Environments {
		if envName != "" && fe.Name != envName {
			continue
		}
		for i, r := range fe.Rules {
			serve(&r.Serve, rulePath(f, fe, i))
		}
		if fe.Default != nil {
			serve(fe.Default, path+".environments."+fe.Name+".default")
		}
	}
}

// cycles reports reference cycles among flags (variant()) and segments
// (inSegment()) for one environment as a path, each cycle once per
// reported map.
func (a *analysis) cycles(envName string, reported map[string]bool, ds *Diagnostics) {
	type vertex struct {
		kind string // "flag" or "segment"
		name string
	}
	edges := map[vertex][]vertex{}
	pos := map[vertex]config.Pos{}
	add := func(from vertex, info expr.Info) {
		for _, s := range info.Segments {
			edges[from] = append(edges[from], vertex{"segment", s})
		}
		for _, f := range info.Flags {
			edges[from] = append(edges[from], vertex{"flag", f})
		}
	}
	var order []vertex
	for _, s := range a.doc.Segments {
		v := vertex{"segment", s.Name}
		order = append(order, v)
		pos[v] = s.Pos
		if info, ok := a.segInfo[s.Name]; ok {
			add(v, info)
		}
	}
	for _, f := range a.doc.Flags {
		if f.Status == config.StatusArchived {
			continue
		}
		v := vertex{"flag", f.Key}
		order = append(order, v)
		pos[v] = f.Pos
		if fe := flagEnv(f, envName); fe != nil {
			for _, r := range fe.Rules {
				if info, ok := a.ruleInfo[r]; ok {
					add(v, info)
				}
			}
		}
	}
	for v := range edges {
		sort.Slice(edges[v], func(i, j int) bool {
			x, y := edges[v][i], edges[v][j]
			if x.kind != y.kind {
				return x.kind < y.kind
			}
			return x.name < y.name
		})
	}
	const (
		white = iota
		grey
		black
	)
	color := map[vertex]int{}
	var stack []vertex
	var visit func(v vertex)
	visit = func(v vertex) {
		color[v] = grey
		stack = append(stack, v)
		for _, w := range edges[v] {
			switch color[w] {
			case white:
				visit(w)
			case grey:
				start := len(stack) - 1
				for stack[start] != w {
					start--
				}
				cyc := stack[start:]
				// Rotate so the report starts at the smallest vertex.
				min := 0
				for i, c := range cyc {
					if c.kind+c.name < cyc[min].kind+cyc[min].name {
						min = i
					}
				}
				var parts []string
				for i := range cyc {
					c := cyc[(min+i)%len(cyc)]
					parts = append(parts, fmt.Sprintf("%s %q", c.kind, c.name))
				}
				first := cyc[min]
				parts = append(parts, fmt.Sprintf("%s %q", first.kind, first.name))
				msg := strings.Join(parts, " -> ")
				if !reported[msg] {
					reported[msg] = true
					p := "flags." + first.name
					if first.kind == "segment" {
						p = "segments." + first.name
					}
					ds.Add(pos[first], p, "reference cycle: %s", msg)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[v] = black
	}
	for _, v := range order {
		if color[v] == white {
			visit(v)
		}
	}
}
