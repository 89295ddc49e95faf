package eval

// Loading: from IR to the engine's prepared form.
//
// Glossary of the prepared form (the names used throughout the engine):
//
//	pnode            a prepared node; its index is the IR node's. Either an
//	                 ir.Op or a fused operator (fStarts...) recognised from
//	                 an IR pattern such as attr >= const.
//	pop              a pnode's operator: an ir.Op or a fused one.
//	wide operand     a node operand too big for a pnode (a constant list, a
//	                 parsed semver or timestamp, a string set, a regexp),
//	                 kept in one of the Engine's side tables.
//	pserve           a prepared ir.Serve: a fixed variant, or a split whose
//	                 arms are Engine.arms[arm0 : arm0+narm].
//	arm              one split arm: a variant and its cumulative weight
//	                 times the bucket count.
//	prule            a prepared ir.Rule: ID, condition root, pserve.
//	pvar             a variant: its name and its pre-boxed value.
//	pflag            a prepared ir.Flag.
//	noMatch          the serve of an enabled flag whose rules do not match
//	                 (ir.Flag.Default).
//	fallbackVariant  what a split serves when the context has no bucketing
//	                 value (ir.Flag.DefaultVariant).
//	offVariant       what a disabled flag serves (ir.Flag.OffVariant).
//	pseg             a prepared segment.
//
// Load prepares an ir.Bundle, LoadEncoded prepares an encoding as an
// ir.Reader decodes it flag by flag; both go through one loader. The
// engine shares no memory with its input: what it keeps of the IR (node
// arguments, segment keys, metadata) it copies, except from the tables of
// its own Reader.

import (
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// ErrInvalidBundle is wrapped by every error of Load and LoadEncoded,
// next to the cause (an ir sentinel such as ir.ErrInvalid or
// ir.ErrMalformed, when the cause is one).
var ErrInvalidBundle = errors.New("invalid bundle")

// loadError is a Load failure: it matches ErrInvalidBundle and its cause
// with errors.Is. Its message is "load bundle: " and the cause's.
type loadError struct {
	msg   string // Load's own context; may be empty
	cause error
}

func (e *loadError) Error() string {
	s := "load bundle"
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
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
// from fStarts to fMatch read attribute a and compare it with a constant;
// each comparison has its own op so that cond dispatches once.
const (
	fStarts   pop = pop(ir.NumOps) + iota // attr.startsWith(const string cs)
	fEnds                                 // attr.endsWith(const string cs)
	fContains                             // attr.contains(const string cs)
	fNumEq                                // attr == const number cn
	fNumNe                                // attr != const number cn
	fNumLt                                // attr < const number cn (finite: Validate)
	fNumLe                                // attr <= const number cn
	fNumGt                                // attr > const number cn
	fNumGe                                // attr >= const number cn
	fStrEq                                // attr == const string cs
	fStrNe                                // attr != const string cs
	fStrCmp                               // attr <sub> const string cs (ordering)
	fBoolIs                               // attr is the bool cb (==/!= const bool, or attr as a condition)
	fInSet                                // attr in sorted const strings (pnode)
	fInMap                                // attr in Engine.sets[b] (more than setThreshold const strings)
	fMatch                                // attr.matches(Engine.res[b])
	fConstTri                             // a constant condition cb (when ck is kBool; unknown otherwise)
)

// pnode is a prepared node. The engine keeps only the nodes evaluation
// can reach, compacted, so a node's index is not the IR node's: a and b
// of a generic node are the positions of its operands in Engine.nodes (of
// OpList: its range in Engine.args). A fused node's a is the attribute;
// a scalar constant operand is inline (ck, cb, cn, cs). A wide operand
// is in the side table the operator names, at b: Engine.wide for OpConst
// (b = -1: inline), Engine.sets for fInMap, Engine.res for OpMatches and
// fMatch; fInSet's strings are Engine.strs[b>>4 : b>>4 + b&15].
type pnode struct {
	op   pop
	sub  ir.Op
	ck   kind // kind of the inline constant operand
	cb   bool
	a, b int32
	cn   float64
	cs   string
}

// setConst stores c as OpConst node p's operand: inline, b = -1, or at
// Engine.wide[b].
func (e *Engine) setConst(p *pnode, c val) {
	p.ck, p.b = c.k, -1
	if c.x == nil && c.i == [3]int64{} {
		p.cb, p.cn, p.cs = c.b, c.n, c.s
		return
	}
	p.b = int32(len(e.wide))
	e.wide = append(e.wide, c)
}

// constOp returns OpConst node p's constant.
func (e *Engine) constOp(p *pnode) val {
	if p.b >= 0 {
		return e.wide[p.b]
	}
	return val{k: p.ck, b: p.cb, n: p.cn, s: p.cs}
}

// pserve is a prepared Serve. narm is 0 for a fixed variant. The total
// weight is not stored: it is the last arm's cum / buckets.
type pserve struct {
	variant  int32
	bucketBy int32
	arm0     int32
	narm     int32
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

// span is a list in a chunked arena of the Engine: elements
// [off, off+n) of chunk c, with off = offn & spanOff and n = offn >>
// spanBits. (A list longer than a chunk gets a chunk of its own, at
// off 0.) It is 8 bytes where a slice is 24.
type span struct {
	c    uint32
	offn uint32
}

const (
	spanBits = 10 // chunks hold at most 1 << spanBits elements at offsets < 1 << spanBits
	spanOff  = 1<<spanBits - 1
)

// pflag is a prepared flag; its key is Engine.keys at the same index.
type pflag struct {
	rules           []prule
	vars            span // in Engine.varChunks; shared by flags with identical scalar variants
	meta            span // in Engine.metaChunks
	noMatch         pserve
	hash            hashPrefix // of salt + "/"
	fallbackVariant int32
	offVariant      int32
	typ             ir.FlagType
	enabled         bool
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
// version reported in every Result. The engine keeps no reference to b.
func Load(b *ir.Bundle, version uint64) (*Engine, error) {
	if b == nil {
		return nil, &loadError{msg: "nil bundle"}
	}
	if err := b.Validate(); err != nil {
		return nil, &loadError{cause: err}
	}
	l, err := newLoader(b, len(b.Flags), version, true)
	if err != nil {
		return nil, err
	}
	// A list equal to the last one of its kind is prepared once, as
	// LoadEncoded does for equal encodings.
	var lastVariants [ir.TypeObject + 1][]ir.Variant
	var lastRules []ir.Rule
	for i := range b.Flags {
		f := &b.Flags[i]
		sameV := equalVariants(f.Variants, lastVariants[f.Type])
		sameR := equalRules(f.Rules, lastRules)
		if err := l.flag(i, f, nil, nil, sameV, sameR); err != nil {
			return nil, err
		}
		lastVariants[f.Type] = f.Variants
		if len(f.Rules) > 0 {
			lastRules = f.Rules
		}
	}
	return l.finish(), nil
}

// LoadEncoded decodes data (an ir.Encode encoding, within lim), validates
// it and prepares it for evaluation in one pass, without building an
// ir.Bundle: an ir.Reader hands it one flag at a time. It accepts exactly
// the encodings that ir.Decode followed by Load accepts, and the engine
// evaluates identically. Flags whose variant or rule lists are encoded
// identically to the previous flag's share one prepared list. version is
// the bundle version reported in every Result.
func LoadEncoded(data []byte, lim ir.Limits, version uint64) (*Engine, error) {
	r, err := ir.NewReader(data, lim)
	if err != nil {
		return nil, &loadError{cause: err}
	}
	l, err := newLoader(r.Tables(), r.Len(), version, false)
	if err != nil {
		return nil, err
	}
	var f ir.Flag
	for i := 0; r.Next(&f); i++ {
		sameV, sameR := r.Repeated()
		if err := l.flag(i, &f, r.Values(), r.Parsed(), sameV, sameR); err != nil {
			return nil, err
		}
	}
	if err := r.Err(); err != nil {
		return nil, &loadError{cause: err}
	}
	return l.finish(), nil
}

// equalVariants reports whether a and b are equal non-empty lists.
func equalVariants(a, b []ir.Variant) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || string(a[i].Value) != string(b[i].Value) {
			return false
		}
	}
	return true
}

// equalRules reports whether a and b are equal non-empty lists.
func equalRules(a, b []ir.Rule) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.When != y.When || x.Serve.Variant != y.Serve.Variant || x.Serve.BucketBy != y.Serve.BucketBy ||
			!slices.Equal(x.Serve.Split, y.Serve.Split) {
			return false
		}
	}
	return true
}

// loader builds an Engine from validated tables and flags.
type loader struct {
	e  *Engine
	at []int32 // position of each IR node in e.nodes
	// The prepared lists of the previous flag (of each type, for
	// variants), reused for an identical list; lastShared says whether
	// that type's table may be shared (scalars only: a caller could
	// change an object value it was handed).
	lastVars   [ir.TypeObject + 1]span
	lastShared [ir.TypeObject + 1]bool
	lastRules  []prule
	// The chunk that prepared rules are carved from; variant tables and
	// metadata are carved from the last chunk of Engine.varChunks and
	// Engine.metaChunks.
	rules []prule
}

// ruleChunk is the number of rules allocated at once.
const ruleChunk = 1024

// newLoader prepares the tables of b (everything but its flags) for an
// engine of nflags flags. copyTables says whether b belongs to the
// caller: then what the engine keeps of it is copied.
func newLoader(b *ir.Bundle, nflags int, version uint64, copyTables bool) (*loader, error) {
	e := &Engine{
		version:  version,
		project:  b.Project,
		env:      b.Environment,
		audience: b.Audience,
		attrs:    make([]attrPath, len(b.Attributes)),
		segs:     make([]pseg, len(b.Segments)),
		flags:    make([]pflag, nflags),
		keys:     make([]string, nflags),
	}
	for i, p := range b.Attributes {
		e.attrs[i] = splitPath(p)
	}
	at, err := e.prepareNodes(b)
	if err != nil {
		return nil, err
	}
	for i, s := range b.Segments {
		ps := pseg{when: root(at, s.When), keyAttr: s.KeyAttr, salt: s.KeySalt, digests: s.KeyDigests}
		if copyTables {
			ps.salt = append([]byte(nil), s.KeySalt...)
			ps.digests = append([][32]byte(nil), s.KeyDigests...)
		}
		if len(s.Keys) > setThreshold {
			ps.keys = make(map[string]struct{}, len(s.Keys))
			for _, k := range s.Keys {
				ps.keys[k] = struct{}{}
			}
		} else if copyTables {
			ps.sorted = append([]string(nil), s.Keys...)
		} else {
			ps.sorted = s.Keys
		}
		e.segs[i] = ps
	}
	return &loader{e: e, at: at}, nil
}

// root returns the position in Engine.nodes of the condition rooted at IR
// node r, or NoNode.
func root(at []int32, r int32) int32 {
	if r == ir.NoNode {
		return ir.NoNode
	}
	return at[r]
}

// flag prepares flag i (given in f, valid). values, when not nil, holds
// f's variant values as strings (ir.Reader.Values), which the prepared
// values may share, and parsed, when not nil, those values parsed
// (ir.Reader.Parsed). sameVariants says that f's variant list equals the
// last flag of the same type's, sameRules that its rule list equals the
// last flag with rules' (ir.Reader.Repeated).
func (l *loader) flag(i int, f *ir.Flag, values []string, parsed []any, sameVariants, sameRules bool) error {
	e := l.e
	pf := &e.flags[i]
	pf.typ, pf.enabled = f.Type, f.Enabled
	pf.fallbackVariant, pf.offVariant = f.DefaultVariant, f.OffVariant
	pf.hash = newHashPrefix(f.Salt)
	pf.noMatch = e.prepareServe(f.Default)
	switch {
	case len(f.Rules) == 0:
	case sameRules && l.lastRules != nil:
		pf.rules = l.lastRules
	default:
		pf.rules = l.prepareRules(f.Rules)
		l.lastRules = pf.rules
	}
	if t := f.Type; sameVariants && l.lastShared[t] {
		pf.vars = l.lastVars[t]
	} else {
		vars, shared, err := l.prepareVariants(f.Variants, values, parsed)
		if err != nil {
			return &loadError{msg: "flag " + strconv.Quote(f.Key), cause: err}
		}
		pf.vars, l.lastVars[t], l.lastShared[t] = vars, vars, shared
	}
	if n := len(f.Metadata); n > 0 {
		var m []ir.Meta
		pf.meta, m = carve(&e.metaChunks, n)
		copy(m, f.Metadata)
	}
	e.keys[i] = f.Key
	return nil
}

// finish builds the key index and returns the engine.
func (l *loader) finish() *Engine {
	l.e.index = newKeyIndex(l.e.keys)
	return l.e
}

// prepareRules returns the prepared form of rs, carved from a chunk.
func (l *loader) prepareRules(rs []ir.Rule) []prule {
	n := len(rs)
	if n == 0 {
		return nil
	}
	if len(l.rules) < n {
		l.rules = make([]prule, max(n, ruleChunk))
	}
	p := l.rules[:n:n]
	l.rules = l.rules[n:]
	for j := range rs {
		r := &rs[j]
		p[j] = prule{id: r.ID, when: l.at[r.When], serve: l.e.prepareServe(r.Serve)}
	}
	return p
}

// carve returns a span of n new elements in the chunked arena *chunks,
// and the elements.
func carve[T any](chunks *[][]T, n int) (span, []T) {
	k := len(*chunks) - 1
	if n > spanOff+1 { // a chunk of its own
		*chunks = append(*chunks, make([]T, n))
		return span{c: uint32(k + 1), offn: uint32(n) << spanBits}, (*chunks)[k+1]
	}
	if k < 0 || len((*chunks)[k])+n > cap((*chunks)[k]) {
		*chunks = append(*chunks, make([]T, 0, spanOff+1))
		k++
	}
	c := &(*chunks)[k]
	off := len(*c)
	*c = (*c)[:off+n]
	return span{c: uint32(k), offn: uint32(off) | uint32(n)<<spanBits}, (*c)[off : off+n : off+n]
}

// prepareVariants returns the variant table of vs (whose values are
// values, when not nil, and parsed already, when parsed is not nil),
// carved from Engine.varChunks, and whether it holds scalars only (and so
// may be shared).
func (l *loader) prepareVariants(vs []ir.Variant, values []string, parsed []any) (sp span, shared bool, err error) {
	sp, t := carve(&l.e.varChunks, len(vs))
	shared = true
	for k, v := range vs {
		var dv any
		var err error
		switch {
		case parsed != nil:
			dv = parsed[k]
		case values != nil:
			dv, err = ir.ParseJSONString(values[k])
		default:
			dv, err = ir.ParseJSON(v.Value)
		}
		if err != nil {
			return span{}, false, errors.New("variant " + strconv.Quote(v.Name) + ": " + err.Error())
		}
		switch dv.(type) {
		case map[string]any, []any:
			shared = false
		}
		t[k] = pvar{name: v.Name, value: dv}
	}
	return sp, shared, nil
}

// prepareServe prepares s, appending its arms to e.arms.
func (e *Engine) prepareServe(s ir.Serve) pserve {
	p := pserve{variant: s.Variant, bucketBy: s.BucketBy}
	if len(s.Split) == 0 {
		return p
	}
	p.arm0, p.narm = int32(len(e.arms)), int32(len(s.Split))
	if n := len(e.arms) + len(s.Split); n > cap(e.arms) {
		// Doubling: append's growth for large slices (1.25x) would
		// allocate about four times the final array on the way.
		e.arms = append(make([]arm, 0, max(2*cap(e.arms), n, 256)), e.arms...)
	}
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

// prepareNodes prepares the nodes that evaluation can reach, compacted:
// every boolean node, and every value node that an unfused node reads
// (the attribute and constant operands of a fused comparison are never
// evaluated). Parents come after their children (Validate), so one pass
// from the last node down finds them. It returns the position of each IR
// node in e.nodes (-1 for a node left out), for the roots of rules and
// segments.
func (e *Engine) prepareNodes(b *ir.Bundle) ([]int32, error) {
	at := make([]int32, len(b.Nodes)) // first: 1 for a needed node
	live := 0
	for i := len(b.Nodes) - 1; i >= 0; i-- {
		if at[i] == 0 && !isBoolOp(b.Nodes[i].Op) {
			continue
		}
		at[i] = 1
		live++
		if p := plan(b, int32(i)); p.op < pop(ir.NumOps) && p.op != pop(ir.OpConst) {
			markOperands(b, int32(i), at) // not fused: its operands are evaluated
		}
	}
	// Size the side tables for the most they can receive, so they are
	// allocated once.
	var nWide, nStrs int
	for i, nd := range b.Nodes {
		if at[i] == 0 {
			continue
		}
		switch nd.Op {
		case ir.OpConst:
			if b.Consts[nd.A].Kind == ir.ConstList {
				nWide++
			}
		case ir.OpSemver, ir.OpTimestamp:
			nWide++
		case ir.OpIn:
			if c := b.Nodes[nd.B]; c.Op == ir.OpConst {
				if l := b.Consts[c.A].List; len(l) <= setThreshold {
					nStrs += len(l)
				}
			}
		}
	}
	e.wide, e.strs = make([]val, 0, nWide), make([]string, 0, nStrs)
	e.nodes = make([]pnode, 0, live)
	for i := range at {
		if at[i] == 0 {
			at[i] = -1
			continue
		}
		at[i] = int32(len(e.nodes))
		e.nodes = append(e.nodes, pnode{})
	}
	res := map[string]int32{} // one compiled regexp per pattern
	for i := range b.Nodes {
		if at[i] < 0 {
			continue
		}
		p := plan(b, int32(i))
		if err := e.complete(b, int32(i), &p, at, res); err != nil {
			return nil, &loadError{msg: "node " + strconv.Itoa(i), cause: err}
		}
		e.nodes[at[i]] = p
	}
	args := make([]int32, len(b.Args))
	for k, a := range b.Args {
		args[k] = at[a]
	}
	e.args = args
	return at, nil
}

// markOperands marks (in need) the nodes that node i reads.
func markOperands(b *ir.Bundle, i int32, need []int32) {
	nd := b.Nodes[i]
	switch nd.Op {
	case ir.OpNot, ir.OpSize, ir.OpSemver, ir.OpTimestamp, ir.OpBool, ir.OpMatches:
		need[nd.A] = 1
	case ir.OpAnd, ir.OpOr, ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe, ir.OpIn,
		ir.OpStartsWith, ir.OpEndsWith, ir.OpContains:
		need[nd.A], need[nd.B] = 1, 1
	case ir.OpList:
		for _, a := range b.Args[nd.A : nd.A+nd.B] {
			need[a] = 1
		}
	}
}

// isBoolOp reports whether o is a condition (evaluated by cond).
func isBoolOp(o ir.Op) bool {
	switch o {
	case ir.OpNot, ir.OpAnd, ir.OpOr, ir.OpEq, ir.OpNe, ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe, ir.OpIn,
		ir.OpStartsWith, ir.OpEndsWith, ir.OpContains, ir.OpMatches, ir.OpHas, ir.OpInSegment, ir.OpBool:
		return true
	}
	return false
}

// plan decides how IR node i is prepared: its operator, generic or fused,
// and its inline operands, with a and b as in the IR (node indices for a
// generic node). It allocates nothing; complete adds the rest.
func plan(b *ir.Bundle, i int32) pnode {
	nd := b.Nodes[i]
	p := pnode{op: pop(nd.Op), sub: nd.Op, a: nd.A, b: nd.B}
	isAttr := func(x int32) bool { return b.Nodes[x].Op == ir.OpAttr }
	// constOf returns the constant of node x; a list only as its kind.
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
	case ir.OpSemver, ir.OpTimestamp:
		if _, ok := constOf(nd.A); ok { // parsed once, by complete
			p.op = pop(ir.OpConst)
		}
	case ir.OpMatches:
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
				if len(l) > setThreshold {
					p.op = fInMap
				}
			}
		}
	}
	return p
}

// complete finishes node i's plan p: constants into their inline fields
// or Engine.wide, sets and patterns into their side tables, and the node
// operands of a generic node mapped to their positions at[...].
func (e *Engine) complete(b *ir.Bundle, i int32, p *pnode, at []int32, res map[string]int32) error {
	nd := b.Nodes[i]
	switch p.op {
	case pop(ir.OpConst):
		c := val{k: kUnknown}
		switch nd.Op {
		case ir.OpConst:
			c = constVal(b.Consts[nd.A])
		case ir.OpSemver, ir.OpTimestamp: // of a constant
			if s := b.Consts[b.Nodes[nd.A].A]; s.Kind == ir.ConstString {
				if nd.Op == ir.OpSemver {
					c = parseSemver(s.Str)
				} else {
					c = parseTimestamp(s.Str)
				}
			}
		}
		e.setConst(p, c)
	case pop(ir.OpMatches), fMatch:
		pat := b.Consts[nd.B].Str
		x, ok := res[pat]
		if !ok {
			// The limits first: regexp/syntax enforces its own by
			// panicking, which TinyGo's wasm target cannot recover.
			if err := ir.CheckPattern(pat); err != nil {
				return errors.New("compile pattern: " + err.Error())
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				return errors.New("compile pattern: " + err.Error())
			}
			x = int32(len(e.res))
			e.res = append(e.res, re)
			res[pat] = x
		}
		p.b = x
		if p.op == pop(ir.OpMatches) {
			p.a = at[nd.A]
		}
	case fInSet:
		l := b.Consts[b.Nodes[nd.B].A].List
		start := len(e.strs)
		for _, x := range l {
			e.strs = append(e.strs, x.Str)
		}
		sort.Strings(e.strs[start:])
		p.b = int32(start)<<4 | int32(len(l)) // len(l) <= setThreshold < 16
	case fInMap:
		l := b.Consts[b.Nodes[nd.B].A].List
		set := make(map[string]struct{}, len(l))
		for _, x := range l {
			set[x.Str] = struct{}{}
		}
		p.b = int32(len(e.sets))
		e.sets = append(e.sets, set)
	case pop(ir.OpNot), pop(ir.OpSize), pop(ir.OpSemver), pop(ir.OpTimestamp), pop(ir.OpBool):
		p.a = at[nd.A]
	case pop(ir.OpAnd), pop(ir.OpOr), pop(ir.OpEq), pop(ir.OpNe), pop(ir.OpLt), pop(ir.OpLe), pop(ir.OpGt),
		pop(ir.OpGe), pop(ir.OpIn), pop(ir.OpStartsWith), pop(ir.OpEndsWith), pop(ir.OpContains):
		p.a, p.b = at[nd.A], at[nd.B]
	}
	return nil
}
