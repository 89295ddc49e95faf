package eval

import (
	"encoding/binary"
	"errors"
	"regexp"
	"sort"
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// ErrInvalidBundle is wrapped by every Load error: the bundle failed
// validation or could not be prepared.
var ErrInvalidBundle = errors.New("invalid bundle")

// loadError is a Load failure: it matches ErrInvalidBundle and the cause
// with errors.Is.
type loadError struct {
	msg   string
	cause error
}

func (e *loadError) Error() string {
	if e.cause == nil {
		return "load bundle: " + ErrInvalidBundle.Error() + ": " + e.msg
	}
	if e.msg == "" {
		return "load bundle: " + ErrInvalidBundle.Error() + ": " + e.cause.Error()
	}
	return "load bundle: " + ErrInvalidBundle.Error() + ": " + e.msg + ": " + e.cause.Error()
}

func (e *loadError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidBundle}
	}
	return []error{ErrInvalidBundle, e.cause}
}

// pop is a prepared operator: an ir.Op or one of the fused operators below.
type pop uint8

// Fused operators, recognised at load from generic IR patterns. Those
// from fStarts to fMatch read attribute a and compare it with constant c;
// each comparison has its own op so that cond dispatches once.
const (
	fStarts   pop = pop(ir.NumOps) + iota // attr.startsWith(const string)
	fEnds                                 // attr.endsWith(const string)
	fContains                             // attr.contains(const string)
	fNumEq                                // attr == const number
	fNumNe                                // attr != const number
	fNumLt                                // attr < const number (finite: Validate)
	fNumLe                                // attr <= const number
	fNumGt                                // attr > const number
	fNumGe                                // attr >= const number
	fStrEq                                // attr == const string
	fStrNe                                // attr != const string
	fStrCmp                               // attr <op> const string; sub = op (ordering)
	fBoolIs                               // attr is the bool c.b (==/!= const bool, or attr as a condition)
	fInSet                                // attr in [const strings]
	fMatch                                // attr.matches(re)
	fConstTri                             // a constant condition (c.b)
)

// pnode is a prepared node; its index equals the IR node's index.
//
// It is kept small (48 bytes; a varied 10k-flag bundle has ~20 000
// nodes): a scalar constant operand is stored inline (ck, cb, cn, cs) and
// the rare wide operands (lists, parsed semvers and timestamps, sets,
// regexps) live in Engine.ext at index x.
type pnode struct {
	op   pop
	sub  ir.Op
	ck   kind // kind of the inline constant operand (OpConst, fused const)
	cb   bool
	a, b int32
	cn   float64
	cs   string
	x    int32 // Engine.ext index, or -1
}

// pext is the wide part of a pnode.
type pext struct {
	c    val                 // constant that is not a plain scalar
	strs []string            // fInSet, small sets (sorted)
	set  map[string]struct{} // fInSet, large sets
	re   *regexp.Regexp
}

// setConst stores c as p's constant operand.
func (e *Engine) setConst(p *pnode, c val) {
	if c.x == nil && c.i == [3]int64{} {
		p.ck, p.cb, p.cn, p.cs = c.k, c.b, c.n, c.s
		return
	}
	p.ck = c.k
	e.extOf(p).c = c
}

// extOf returns p's wide part, adding it on first use.
func (e *Engine) extOf(p *pnode) *pext {
	if p.x < 0 {
		p.x = int32(len(e.ext))
		e.ext = append(e.ext, pext{})
	}
	return &e.ext[p.x]
}

// constOp returns p's constant operand.
func (e *Engine) constOp(p *pnode) val {
	if p.x >= 0 && e.ext[p.x].c.k != 0 {
		return e.ext[p.x].c
	}
	return val{k: p.ck, b: p.cb, n: p.cn, s: p.cs}
}

// pserve is a prepared Serve. Its split arms are Engine.arms[arm0:arm0+narm]
// (offsets, not a slice: 24 instead of 48 bytes, ×4 per F2-like flag).
//
// The total weight is not stored: it is the last arm's cum / buckets
// (16 instead of 24 bytes, ×40 000 in a varied 10k-flag bundle).
type pserve struct {
	variant  int32
	bucketBy int32
	arm0     int32
	narm     int32 // 0 for a fixed variant
}

// arm is one split arm with its cumulative weight times the bucket count.
type arm struct {
	variant int32
	cum     uint64
}

type prule struct {
	id    string
	serve pserve
	when  int32
}

// pvar is a variant: its name and decoded value.
type pvar struct {
	name  string
	value any
}

// pflag is a prepared flag; its key is Engine.keys at the same index.
type pflag struct {
	rules   []prule
	vars    []pvar // shared by flags with identical scalar variants
	meta    []ir.Meta
	dflt    pserve
	hash    hashPrefix // of salt + "/"
	def     int32
	off     int32
	typ     ir.FlagType
	enabled bool
}

type pseg struct {
	when    int32
	keyAttr int32
	keys    map[string]struct{}
	sorted  []string
	salt    []byte
	digests [][32]byte
}

// setThreshold is the constant-list size above which `in` uses a map.
const setThreshold = 8

// Load validates b and prepares it for evaluation. version is the bundle
// version reported in every Result.
func Load(b *ir.Bundle, version uint64) (*Engine, error) {
	if b == nil {
		return nil, &loadError{msg: "nil bundle"}
	}
	if err := b.Validate(); err != nil {
		return nil, &loadError{cause: err}
	}
	e := &Engine{
		version:  version,
		project:  b.Project,
		env:      b.Environment,
		audience: b.Audience,
		attrs:    make([]attrPath, len(b.Attributes)),
		nodes:    make([]pnode, len(b.Nodes)),
		args:     b.Args,
		segs:     make([]pseg, len(b.Segments)),
		flags:    make([]pflag, len(b.Flags)),
		keys:     make([]string, len(b.Flags)),
	}
	for i, p := range b.Attributes {
		e.attrs[i] = splitPath(p)
	}
	res := map[string]*regexp.Regexp{} // one compiled regex per pattern
	for i := range b.Nodes {
		if err := e.prepareNode(b, int32(i), res); err != nil {
			return nil, &loadError{msg: "node " + strconv.Itoa(i), cause: err}
		}
	}
	for i, s := range b.Segments {
		ps := pseg{when: s.When, keyAttr: s.KeyAttr, salt: s.KeySalt, digests: s.KeyDigests}
		if len(s.Keys) > setThreshold {
			ps.keys = make(map[string]struct{}, len(s.Keys))
			for _, k := range s.Keys {
				ps.keys[k] = struct{}{}
			}
		} else {
			ps.sorted = s.Keys
		}
		e.segs[i] = ps
	}
	// Prepared rules are carved from chunks shared by all flags: a handful
	// of allocations instead of several per flag.
	// Both are sized exactly: rule lists shared by the decoder are
	// counted once per run of the same slice, as rulePool shares them.
	var na, nr int
	var lastRules []ir.Rule
	for i := range b.Flags {
		f := &b.Flags[i]
		na += len(f.Default.Split)
		if len(f.Rules) > 0 && len(f.Rules) == len(lastRules) && &f.Rules[0] == &lastRules[0] {
			continue
		}
		nr += len(f.Rules)
		for j := range f.Rules {
			na += len(f.Rules[j].Serve.Split)
		}
		if len(f.Rules) > 0 {
			lastRules = f.Rules
		}
	}
	e.arms = make([]arm, 0, na)
	vp := varPool{boxed: map[string]any{}, tables: map[string][]pvar{}}
	rp := rulePool{chunk: make([]prule, nr)}
	for i := range b.Flags {
		f := &b.Flags[i]
		pf := &e.flags[i]
		pf.typ, pf.enabled, pf.def, pf.off = f.Type, f.Enabled, f.DefaultVariant, f.OffVariant
		pf.hash, pf.meta = newHashPrefix(f.Salt), f.Metadata
		pf.dflt = e.prepareServe(f.Default)
		pf.rules = rp.rules(e, f.Rules)
		vars, bad, err := vp.variants(f.Variants)
		if err != nil {
			return nil, &loadError{msg: "flag " + strconv.Quote(f.Key) + " variant " + strconv.Quote(bad), cause: err}
		}
		pf.vars = vars
		e.keys[i] = f.Key
	}
	e.index = newKeyIndex(e.keys)
	return e, nil
}

// rulePool prepares rule lists for Load, carving them from chunks.
type rulePool struct {
	chunk []prule
	last  []ir.Rule // the previous list and its prepared form
	prev  []prule
}

// ruleChunk is the number of rules allocated at once.
const ruleChunk = 1024

// rules returns the prepared form of rs. ir.Decode hands out one slice
// for identically encoded rule lists, so a list that is the previous
// flag's very slice reuses its prepared form (10 000 F2-like flags from
// the decoder: one prepared list, not 30 000 rules).
func (rp *rulePool) rules(e *Engine, rs []ir.Rule) []prule {
	n := len(rs)
	if n == 0 {
		return nil
	}
	if len(rp.last) == n && &rp.last[0] == &rs[0] {
		return rp.prev
	}
	if len(rp.chunk) < n {
		rp.chunk = make([]prule, max(n, ruleChunk))
	}
	p := rp.chunk[:n:n]
	rp.chunk = rp.chunk[n:]
	for j := range rs {
		r := &rs[j]
		p[j] = prule{id: r.ID, when: r.When, serve: e.prepareServe(r.Serve)}
	}
	rp.last, rp.prev = rs, p
	return p
}

// varPool prepares variant lists for Load: decoded values and whole
// tables are shared between flags where that is safe, and new tables are
// carved from chunks.
type varPool struct {
	boxed  map[string]any    // scalar JSON encoding -> its one box
	tables map[string][]pvar // variantsKey -> table, for all-scalar tables
	chunk  []pvar
	key    []byte
	last   []ir.Variant // the previous shared list and its table
	prev   []pvar
}

// varChunk is the number of variants allocated at once for new tables.
const varChunk = 512

// variants returns the prepared table of vs. Tables of scalar values are
// shared by every flag with the same names and encodings (boolean on/off
// flags, copies of one flag): 10 000 F2-like flags need one table instead
// of 50 000 variants (-1.6 MB per Load10k). Objects and arrays are never
// shared between flags.
func (vp *varPool) variants(vs []ir.Variant) (t []pvar, bad string, err error) {
	// The previous flag's very slice (ir.Decode shares identically encoded
	// lists): skip building and hashing the key.
	if len(vs) > 0 && len(vp.last) == len(vs) && &vp.last[0] == &vs[0] {
		return vp.prev, "", nil
	}
	vp.key = variantsKey(vp.key[:0], vs)
	if t, ok := vp.tables[string(vp.key)]; ok {
		vp.last, vp.prev = vs, t
		return t, "", nil
	}
	n := len(vs)
	if len(vp.chunk) < n {
		vp.chunk = make([]pvar, max(n, varChunk))
	}
	t = vp.chunk[:n:n]
	vp.chunk = vp.chunk[n:]
	scalars := true
	for k, v := range vs {
		t[k].name = v.Name
		if bv, ok := vp.boxed[string(v.Value)]; ok {
			t[k].value = bv
			continue
		}
		dv, err := ir.ParseJSON(v.Value)
		if err != nil {
			return nil, v.Name, err
		}
		t[k].value = dv
		switch dv.(type) {
		case map[string]any, []any:
			scalars = false
		default:
			vp.boxed[string(v.Value)] = dv
		}
	}
	if scalars {
		vp.tables[string(vp.key)] = t
		vp.last, vp.prev = vs, t
	}
	return t, "", nil
}

// variantsKey appends an unambiguous encoding of vs (length-prefixed names
// and values) to buf.
func variantsKey(buf []byte, vs []ir.Variant) []byte {
	for _, v := range vs {
		buf = binary.AppendUvarint(buf, uint64(len(v.Name)))
		buf = append(buf, v.Name...)
		buf = binary.AppendUvarint(buf, uint64(len(v.Value)))
		buf = append(buf, v.Value...)
	}
	return buf
}

// prepareServe prepares s, appending its arms to e.arms.
func (e *Engine) prepareServe(s ir.Serve) pserve {
	p := pserve{variant: s.Variant, bucketBy: s.BucketBy}
	if len(s.Split) == 0 {
		return p
	}
	p.arm0, p.narm = int32(len(e.arms)), int32(len(s.Split))
	var cum uint64
	for _, w := range s.Split {
		cum += uint64(w.Weight)
		e.arms = append(e.arms, arm{variant: w.Variant, cum: cum * buckets})
	}
	return p
}

// constVal converts a constant (lists become kVals).
func constVal(c ir.Const) val {
	switch c.Kind {
	case ir.ConstBool:
		return val{k: kBool, b: c.Bool}
	case ir.ConstNum:
		return val{k: kNum, n: c.Num}
	case ir.ConstString:
		return val{k: kStr, s: c.Str}
	case ir.ConstList:
		l := make([]val, len(c.List))
		for i, x := range c.List {
			l[i] = constVal(x)
		}
		return val{k: kVals, x: l}
	}
	return val{k: kNull}
}

// flip mirrors a comparison: const < attr is attr > const.
func flip(op ir.Op) ir.Op {
	switch op {
	case ir.OpLt:
		return ir.OpGt
	case ir.OpLe:
		return ir.OpGe
	case ir.OpGt:
		return ir.OpLt
	case ir.OpGe:
		return ir.OpLe
	}
	return op
}

func (e *Engine) prepareNode(b *ir.Bundle, i int32, res map[string]*regexp.Regexp) error {
	nd := b.Nodes[i]
	p := pnode{op: pop(nd.Op), sub: nd.Op, a: nd.A, b: nd.B, x: -1}
	isAttr := func(x int32) bool { return b.Nodes[x].Op == ir.OpAttr }
	// constOf converts the constant of node x; a list is converted only by
	// its own OpConst node (the OpIn case reads ir.Const lists directly).
	constOf := func(x int32) (val, bool) {
		if b.Nodes[x].Op != ir.OpConst {
			return val{}, false
		}
		c := &b.Consts[b.Nodes[x].A]
		if c.Kind == ir.ConstList {
			return val{k: kVals}, true
		}
		return constVal(*c), true
	}
	switch nd.Op {
	case ir.OpConst:
		e.setConst(&p, constVal(b.Consts[nd.A]))
	case ir.OpSemver, ir.OpTimestamp:
		// Constant operands are parsed once here.
		if c, ok := constOf(nd.A); ok {
			p.op = pop(ir.OpConst)
			pc := val{k: kUnknown}
			if c.k == kStr {
				if nd.Op == ir.OpSemver {
					pc = parseSemver(c.s)
				} else {
					pc = parseTimestamp(c.s)
				}
			}
			e.setConst(&p, pc)
		}
	case ir.OpMatches:
		pat := b.Consts[nd.B].Str
		re, ok := res[pat]
		if !ok {
			// The limits first: regexp/syntax enforces its own by
			// panicking, which TinyGo's wasm target cannot recover.
			if err := ir.CheckPattern(pat); err != nil {
				return errors.New("compile pattern: " + err.Error())
			}
			var err error
			if re, err = regexp.Compile(pat); err != nil {
				return errors.New("compile pattern: " + err.Error())
			}
			res[pat] = re
		}
		e.extOf(&p).re = re
		if isAttr(nd.A) {
			p.op, p.a = fMatch, b.Nodes[nd.A].A
		}
	case ir.OpBool:
		if isAttr(nd.A) {
			p.op, p.a, p.ck, p.cb = fBoolIs, b.Nodes[nd.A].A, kBool, true
		} else if c, ok := constOf(nd.A); ok {
			p.op = fConstTri
			p.ck, p.cb = c.k, c.b // only a bool is read
		}
	case ir.OpStartsWith, ir.OpEndsWith, ir.OpContains:
		if c, ok := constOf(nd.B); ok && c.k == kStr && isAttr(nd.A) {
			p.op, p.a, p.ck, p.cs = fStarts+pop(nd.Op-ir.OpStartsWith), b.Nodes[nd.A].A, c.k, c.s
		}
	case ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe:
		x, y, op := nd.A, nd.B, nd.Op
		if !isAttr(x) && isAttr(y) {
			x, y, op = y, x, flip(op)
		}
		c, ok := constOf(y)
		if !ok || !isAttr(x) {
			break
		}
		switch {
		case c.k == kNum:
			p.op = fNumEq + pop(op-ir.OpEq)
		case c.k == kStr && op == ir.OpEq:
			p.op = fStrEq
		case c.k == kStr && op == ir.OpNe:
			p.op = fStrNe
		case c.k == kStr:
			p.op = fStrCmp
		case c.k == kBool && (op == ir.OpEq || op == ir.OpNe):
			// == true / != false: is true; == false / != true: is false.
			p.op, c.b = fBoolIs, c.b == (op == ir.OpEq)
		}
		if p.op != pop(nd.Op) {
			p.sub, p.a = op, b.Nodes[x].A
			p.ck, p.cb, p.cn, p.cs = c.k, c.b, c.n, c.s // scalar: k is kNum, kStr or kBool
		}
	case ir.OpIn:
		if c, ok := constOf(nd.B); ok && isAttr(nd.A) && c.k == kVals {
			l := b.Consts[b.Nodes[nd.B].A].List
			allStr := len(l) > 0
			for _, x := range l {
				if x.Kind != ir.ConstString {
					allStr = false
					break
				}
			}
			if allStr {
				p.op, p.a = fInSet, b.Nodes[nd.A].A
				ext := e.extOf(&p)
				if len(l) > setThreshold {
					ext.set = make(map[string]struct{}, len(l))
					for _, x := range l {
						ext.set[x.Str] = struct{}{}
					}
				} else {
					strs := make([]string, len(l))
					for k, x := range l {
						strs[k] = x.Str
					}
					sort.Strings(strs)
					ext.strs = strs
				}
			}
		}
	}
	e.nodes[i] = p
	return nil
}
