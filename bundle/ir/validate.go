package ir

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
)

// isBoolOp reports whether o yields true/false/unknown (a condition).
func isBoolOp(o Op) bool {
	switch o {
	case OpNot, OpAnd, OpOr, OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn,
		OpStartsWith, OpEndsWith, OpContains, OpMatches, OpHas, OpInSegment, OpBool:
		return true
	}
	return false
}

// isValueOp reports whether o yields a value (or unknown).
func isValueOp(o Op) bool {
	switch o {
	case OpConst, OpAttr, OpNow, OpSize, OpSemver, OpTimestamp, OpVariant, OpList:
		return true
	}
	return false
}

// ErrInvalid is wrapped by every error of Bundle.Validate (and by the
// validation errors of a Reader): the bundle's tables do not fit
// together. Test with errors.Is.
var ErrInvalid = errors.New("ir: invalid bundle")

// Validate checks the bundle's structure so that code indexing its tables
// can never go out of range or loop: every index is in range, every operand
// has the kind its operator needs, node children precede their parents,
// tables are sorted, splits are well formed, prerequisites (variant()) and
// segment references are acyclic, and every variant value is valid JSON of
// its flag's type. The error wraps ErrInvalid and names the flag, segment
// or rule and the node.
func (b *Bundle) Validate() error {
	c, err := newChecker(b, len(b.Flags))
	if err != nil {
		return err
	}
	// A variant or rule list that is the very slice the previous flag of
	// its kind had was checked already (see checker.flag).
	var lastVariants [TypeObject + 1][]Variant
	var lastRules []Rule
	lastNV := -1
	for i := range b.Flags {
		f := &b.Flags[i]
		sameV := f.Type >= TypeBoolean && f.Type <= TypeObject && sameSlice(f.Variants, lastVariants[f.Type])
		sameR := sameSlice(f.Rules, lastRules) && len(f.Variants) == lastNV
		if err := c.flag(i, f, sameV, sameR); err != nil {
			return err
		}
		lastVariants[f.Type], lastRules, lastNV = f.Variants, f.Rules, len(f.Variants)
	}
	return c.finish()
}

// sameSlice reports whether a and b are the same non-empty slice (same
// first element, same length).
func sameSlice[T any](a, b []T) bool {
	return len(a) != 0 && len(a) == len(b) && &a[0] == &b[0]
}

type vErr struct{ msg string }

func (e *vErr) Error() string { return e.msg }

func errf(parts ...string) error { return &vErr{strings.Join(parts, "")} }

func itoa(i int) string { return strconv.Itoa(i) }

// MaxNodeDepth bounds how deep a node tree nests (a node with no
// children is 1 deep). The engine evaluates conditions recursively, and a
// runtime without growable stacks (TinyGo's wasm module) must know how
// deep that goes; compiled conditions stay near 100 (the expression
// parser's own recursion limit).
const MaxNodeDepth = 256

// invalid wraps a check's failure as a Validate error.
func invalid(err error) error { return codecWrap("validate bundle: "+err.Error(), ErrInvalid) }

// checker runs Validate's checks in the order a bundle is encoded: the
// tables first (newChecker), then each flag in order (flag), then what
// needs every flag (finish). Validate drives it over a Bundle, a Reader
// over the flags it decodes one at a time, so both apply the same checks
// and report the same errors.
type checker struct {
	b      *Bundle // the tables; b.Flags is never read
	nflags int
	// bad[i] is the first invalid node in node i's subtree, or -1, so an
	// error is reported for the flag or segment that uses the node;
	// nodeErr holds the invalid nodes' errors.
	bad     []int32
	nodeErr map[int32]error
	prevKey string
	// texts, set by a Reader, holds the checked flag's variant values as
	// strings; they are then parsed into parsed, not only checked.
	texts  []string
	parsed []any
	// refs is the reference graph through variant() and inSegment(),
	// nil when no node references a flag or segment (then there is no
	// cycle to find).
	refs *refGraph
}

// newChecker checks the tables of b (everything but the flags), for a
// bundle of nflags flags.
func newChecker(b *Bundle, nflags int) (*checker, error) {
	c := &checker{b: b, nflags: nflags}
	if err := c.tables(); err != nil {
		return nil, invalid(err)
	}
	return c, nil
}

func (c *checker) tables() error {
	b := c.b
	if b.Audience != AudienceServer && b.Audience != AudienceClient {
		return errf("invalid audience ", itoa(int(b.Audience)))
	}
	for i, k := range b.Consts {
		if err := checkConst(k, true); err != nil {
			return errf("const ", itoa(i), ": ", err.Error())
		}
	}
	// Each node on its own, children first.
	n := len(b.Nodes)
	c.bad = make([]int32, n)
	depth := make([]uint16, n) // ≤ MaxNodeDepth+1
	var hasRef []bool          // hasRef[i]: node i's subtree has a variant() or inSegment()
	for i := range b.Nodes {
		c.bad[i] = -1
		if err := b.checkNode(int32(i), c.nflags); err != nil {
			if c.nodeErr == nil {
				c.nodeErr = map[int32]error{}
			}
			c.nodeErr[int32(i)] = err
			c.bad[i] = int32(i)
			continue
		}
		ref := false
		depth[i] = 1
		b.forChildren(int32(i), func(k int32) {
			if c.bad[i] < 0 && c.bad[k] >= 0 {
				c.bad[i] = c.bad[k]
			}
			ref = ref || hasRef != nil && hasRef[k]
			if depth[k] >= depth[i] {
				depth[i] = depth[k] + 1
			}
		})
		if depth[i] > MaxNodeDepth {
			depth[i] = MaxNodeDepth + 1
			if c.bad[i] < 0 {
				if c.nodeErr == nil {
					c.nodeErr = map[int32]error{}
				}
				c.nodeErr[int32(i)] = errf("expression nested more than ", itoa(MaxNodeDepth), " nodes deep")
				c.bad[i] = int32(i)
			}
		}
		switch b.Nodes[i].Op {
		case OpInSegment, OpVariant:
			ref = true
		}
		if ref {
			if hasRef == nil {
				hasRef = make([]bool, n)
			}
			hasRef[i] = true
		}
	}
	if hasRef != nil {
		c.refs = newRefGraph(b, c.nflags, hasRef)
	}
	for i := range b.Segments {
		if err := c.segment(i); err != nil {
			return errf("segment ", strconv.Quote(b.Segments[i].Name), err.Error())
		}
	}
	return nil
}

// root checks the root node r of a condition; errors start with ": ".
func (c *checker) root(r int32) error {
	b := c.b
	if r < 0 || int(r) >= len(b.Nodes) {
		return errf(": root node ", itoa(int(r)), " out of range")
	}
	if !isBoolOp(b.Nodes[r].Op) {
		return errf(": node ", itoa(int(r)), ": root ", b.Nodes[r].Op.String(), "() is not boolean")
	}
	if c.bad[r] >= 0 {
		return errf(": node ", itoa(int(c.bad[r])), ": ", c.nodeErr[c.bad[r]].Error())
	}
	return nil
}

// flag checks flag i (given in f). sameVariants says that f's variant
// list is identical to the previous flag of the same type's, and
// sameRules that f's rule list is identical to the previous flag's with
// the same number of variants: the checks of those lists depend on
// nothing else, so they passed already and are skipped.
func (c *checker) flag(i int, f *Flag, sameVariants, sameRules bool) error {
	if err := c.checkFlag(i, f, sameVariants, sameRules); err != nil {
		if f.Key == "" {
			return invalid(errf("flag ", itoa(i), err.Error()))
		}
		return invalid(errf("flag ", strconv.Quote(f.Key), err.Error()))
	}
	c.prevKey = f.Key
	if c.refs != nil {
		c.refs.flag(i, f)
	}
	return nil
}

// finish runs the checks that need every flag: nodes no condition uses
// must be valid too, and references must not form a cycle.
func (c *checker) finish() error {
	for i := range c.b.Nodes {
		if err := c.nodeErr[int32(i)]; err != nil {
			return invalid(errf("node ", itoa(i), ": ", err.Error()))
		}
	}
	if c.refs != nil {
		if err := c.refs.cycle(); err != nil {
			return invalid(err)
		}
	}
	return nil
}

// before reports a < b, the order of sorted tables. Most neighbours in a
// sorted table already differ in their first byte (variant names such as
// "off" and "on" do not, but "a", "b", "internal" do), which this decides
// without the runtime's string comparison call.
func before(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// segment checks segment i; errors start with ": " or " ".
func (c *checker) segment(i int) error {
	b := c.b
	s := &b.Segments[i]
	if i > 0 && b.Segments[i-1].Name >= s.Name {
		return errf(": segments not sorted strictly by name")
	}
	if s.When != NoNode {
		if err := c.root(s.When); err != nil {
			return err
		}
	}
	hasKeys := len(s.Keys) > 0 || len(s.KeyDigests) > 0
	if s.KeyAttr != NoNode {
		if s.KeyAttr < 0 || int(s.KeyAttr) >= len(b.Attributes) {
			return errf(": key attribute ", itoa(int(s.KeyAttr)), " out of range")
		}
	} else if hasKeys {
		return errf(": key list without key attribute")
	}
	if b.Audience == AudienceClient && len(s.Keys) > 0 {
		return errf(": raw keys in a client bundle")
	}
	for k := 1; k < len(s.Keys); k++ {
		if !before(s.Keys[k-1], s.Keys[k]) {
			return errf(": keys not sorted strictly")
		}
	}
	for k := 1; k < len(s.KeyDigests); k++ {
		if string(s.KeyDigests[k-1][:]) >= string(s.KeyDigests[k][:]) {
			return errf(": key digests not sorted strictly")
		}
	}
	return nil
}

// checkFlag checks flag i; errors start with ": " or " ".
func (c *checker) checkFlag(i int, f *Flag, sameVariants, sameRules bool) error {
	b := c.b
	if f.Key == "" {
		return errf(": empty key")
	}
	if i > 0 && !before(c.prevKey, f.Key) {
		return errf(": flags not sorted strictly by key")
	}
	if f.Type < TypeBoolean || f.Type > TypeObject {
		return errf(": invalid type ", itoa(int(f.Type)))
	}
	if len(f.Variants) == 0 {
		return errf(": no variants")
	}
	if !sameVariants {
		if c.texts != nil {
			c.parsed = slices.Grow(c.parsed[:0], len(f.Variants))[:len(f.Variants)]
		}
		for k := range f.Variants {
			v := &f.Variants[k]
			if k > 0 && !before(f.Variants[k-1].Name, v.Name) {
				return errf(": variants not sorted strictly by name")
			}
			var err error
			if c.texts != nil { // a Reader: parse as well (Reader.Parsed)
				c.parsed[k], err = checkValue(c.texts[k], f.Type, true)
			} else {
				err = checkJSON(v.Value, f.Type)
			}
			if err != nil {
				return errf(": variant ", strconv.Quote(v.Name), ": ", err.Error())
			}
		}
	}
	nv := int32(len(f.Variants))
	if f.DefaultVariant < 0 || f.DefaultVariant >= nv {
		return errf(": default variant ", itoa(int(f.DefaultVariant)), " out of range")
	}
	if f.OffVariant < 0 || f.OffVariant >= nv {
		return errf(": off variant ", itoa(int(f.OffVariant)), " out of range")
	}
	if !sameRules {
		for r := range f.Rules {
			rule := &f.Rules[r]
			if err := c.root(rule.When); err != nil {
				return errf(" rule ", itoa(r+1), err.Error())
			}
			if err := b.checkServe(&rule.Serve, nv); err != nil {
				return errf(" rule ", itoa(r+1), ": ", err.Error())
			}
		}
	}
	if err := b.checkServe(&f.Default, nv); err != nil {
		return errf(" default: ", err.Error())
	}
	for k := range f.Metadata {
		m := &f.Metadata[k]
		if k > 0 && !before(f.Metadata[k-1].Key, m.Key) {
			return errf(": metadata not sorted strictly by key")
		}
		switch m.Value.Kind {
		case ConstBool, ConstString:
		case ConstNum:
			if math.IsNaN(m.Value.Num) || math.IsInf(m.Value.Num, 0) {
				return errf(": metadata ", strconv.Quote(m.Key), ": number not finite")
			}
		default:
			return errf(": metadata ", strconv.Quote(m.Key), ": value is not a string, number or boolean")
		}
	}
	return nil
}

func checkConst(c Const, top bool) error {
	switch c.Kind {
	case ConstNull, ConstBool, ConstString:
	case ConstNum:
		if math.IsNaN(c.Num) || math.IsInf(c.Num, 0) {
			return errf("number not finite")
		}
	case ConstList:
		if !top {
			return errf("nested list")
		}
		for _, e := range c.List {
			if e.Kind != ConstBool && e.Kind != ConstNum && e.Kind != ConstString {
				return errf("list element is not a bool, number or string")
			}
			if err := checkConst(e, false); err != nil {
				return err
			}
		}
	default:
		return errf("invalid kind ", itoa(int(c.Kind)))
	}
	return nil
}

// forChildren calls fn for each child node index of a node that passed
// checkNode.
func (b *Bundle) forChildren(i int32, fn func(int32)) {
	nd := b.Nodes[i]
	switch nd.Op {
	case OpNot, OpSize, OpSemver, OpTimestamp, OpBool, OpMatches:
		fn(nd.A)
	case OpAnd, OpOr, OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpStartsWith, OpEndsWith, OpContains:
		fn(nd.A)
		fn(nd.B)
	case OpList:
		for _, a := range b.Args[nd.A : nd.A+nd.B] {
			fn(a)
		}
	}
}

// checkNode checks node i of a bundle of nflags flags.
func (b *Bundle) checkNode(i int32, nflags int) error {
	nd := b.Nodes[i]
	child := func(c int32, boolean bool) error {
		if c < 0 || c >= i {
			return errf("operand ", itoa(int(c)), " of ", nd.Op.String(), "() is not an earlier node")
		}
		op := b.Nodes[c].Op
		if boolean && !isBoolOp(op) {
			return errf("operand of ", nd.Op.String(), "() is not boolean")
		}
		if !boolean && !isValueOp(op) {
			return errf("operand of ", nd.Op.String(), "() is not a value")
		}
		return nil
	}
	idx := func(x int32, n int, what string) error {
		if x < 0 || int(x) >= n {
			return errf(nd.Op.String(), "(): ", what, " index ", itoa(int(x)), " out of range")
		}
		return nil
	}
	switch nd.Op {
	case OpConst:
		return idx(nd.A, len(b.Consts), "const")
	case OpAttr, OpHas:
		return idx(nd.A, len(b.Attributes), "attribute")
	case OpNow:
		return nil
	case OpNot:
		return child(nd.A, true)
	case OpAnd, OpOr:
		if err := child(nd.A, true); err != nil {
			return err
		}
		return child(nd.B, true)
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpStartsWith, OpEndsWith, OpContains:
		if err := child(nd.A, false); err != nil {
			return err
		}
		return child(nd.B, false)
	case OpIn:
		if err := child(nd.A, false); err != nil {
			return err
		}
		if err := child(nd.B, false); err != nil {
			return err
		}
		// An OpConst operand with an out-of-range index is rejected by its
		// own check (which this node inherits through bad[]), so its index
		// is range-checked here before Consts is read.
		r := b.Nodes[nd.B]
		if r.Op == OpConst && r.A >= 0 && int(r.A) < len(b.Consts) && b.Consts[r.A].Kind != ConstList {
			return errf("right operand of in() is a constant that is not a list")
		}
		return nil
	case OpMatches:
		if err := child(nd.A, false); err != nil {
			return err
		}
		if err := idx(nd.B, len(b.Consts), "pattern const"); err != nil {
			return err
		}
		if b.Consts[nd.B].Kind != ConstString {
			return errf("pattern of matches() is not a string constant")
		}
		return nil
	case OpSize, OpSemver, OpTimestamp, OpBool:
		return child(nd.A, false)
	case OpInSegment:
		return idx(nd.A, len(b.Segments), "segment")
	case OpVariant:
		return idx(nd.A, nflags, "flag")
	case OpList:
		if nd.A < 0 || nd.B < 0 || int64(nd.A)+int64(nd.B) > int64(len(b.Args)) {
			return errf("list(): args ", itoa(int(nd.A)), "+", itoa(int(nd.B)), " out of range")
		}
		for _, a := range b.Args[nd.A : nd.A+nd.B] {
			if err := child(a, false); err != nil {
				return err
			}
		}
		return nil
	}
	return errf("invalid op ", itoa(int(nd.Op)))
}

func (b *Bundle) checkServe(s *Serve, nv int32) error {
	if len(s.Split) == 0 {
		if s.Variant < 0 || s.Variant >= nv {
			return errf("variant ", itoa(int(s.Variant)), " out of range")
		}
		if s.BucketBy != NoNode && (s.BucketBy < 0 || int(s.BucketBy) >= len(b.Attributes)) {
			return errf("bucketBy attribute ", itoa(int(s.BucketBy)), " out of range")
		}
		return nil
	}
	if s.Variant != NoNode {
		return errf("both a variant and a split")
	}
	if s.BucketBy < 0 || int(s.BucketBy) >= len(b.Attributes) {
		return errf("bucketBy attribute ", itoa(int(s.BucketBy)), " out of range")
	}
	var sum uint64
	for _, w := range s.Split {
		if w.Variant < 0 || w.Variant >= nv {
			return errf("split variant ", itoa(int(w.Variant)), " out of range")
		}
		sum += uint64(w.Weight)
	}
	if sum == 0 {
		return errf("split weights sum to 0")
	}
	if sum > math.MaxUint32 {
		return errf("split weights sum over 2^32-1")
	}
	return nil
}

// refGraph is the graph of references between flags (through variant())
// and segments (through inSegment()), built as the flags are checked:
// vertices are the flags 0..nf-1, then the segments.
type refGraph struct {
	b      *Bundle
	nf     int
	hasRef []bool // per node: its subtree has a reference
	// Vertex v's edges are edges[off[v]:off[v+1]]; segments' edges are
	// collected first (segments precede flags in the encoding), then each
	// flag's in order.
	segEdges, flagEdges []int32
	segOff, flagOff     []int32
	// names holds the keys of the flags a variant() node references: a
	// cycle through flags is reported by such names only.
	names map[int32]string
	seen  []int32 // epoch marks per node, for collect
	epoch int32
	stack []int32
}

func newRefGraph(b *Bundle, nf int, hasRef []bool) *refGraph {
	g := &refGraph{b: b, nf: nf, hasRef: hasRef, seen: make([]int32, len(b.Nodes)),
		segOff: make([]int32, 1, len(b.Segments)+1), flagOff: make([]int32, 1, nf+1), names: map[int32]string{}}
	for _, nd := range b.Nodes {
		if nd.Op == OpVariant {
			g.names[nd.A] = ""
		}
	}
	for _, s := range b.Segments {
		g.epoch++
		g.segEdges = g.collect(g.segEdges, s.When)
		g.segOff = append(g.segOff, int32(len(g.segEdges)))
	}
	return g
}

// flag adds flag i's edges (flags arrive in order).
func (g *refGraph) flag(i int, f *Flag) {
	if _, ok := g.names[int32(i)]; ok {
		g.names[int32(i)] = f.Key
	}
	g.epoch++
	for _, r := range f.Rules {
		g.flagEdges = g.collect(g.flagEdges, r.When)
	}
	g.flagOff = append(g.flagOff, int32(len(g.flagEdges)))
}

// collect appends the vertices that condition r references.
func (g *refGraph) collect(edges []int32, r int32) []int32 {
	if r < 0 || int(r) >= len(g.hasRef) || !g.hasRef[r] {
		return edges
	}
	g.stack = append(g.stack[:0], r)
	for len(g.stack) > 0 {
		x := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		if g.seen[x] == g.epoch || !g.hasRef[x] {
			continue
		}
		g.seen[x] = g.epoch
		switch nd := g.b.Nodes[x]; nd.Op {
		case OpInSegment:
			edges = append(edges, int32(g.nf)+nd.A)
		case OpVariant:
			edges = append(edges, nd.A)
		default:
			g.b.forChildren(x, func(k int32) { g.stack = append(g.stack, k) })
		}
	}
	return edges
}

func (g *refGraph) edges(v int32) []int32 {
	if int(v) < g.nf {
		return g.flagEdges[g.flagOff[v]:g.flagOff[v+1]]
	}
	v -= int32(g.nf)
	return g.segEdges[g.segOff[v]:g.segOff[v+1]]
}

func (g *refGraph) name(v int32) string {
	if int(v) < g.nf {
		return "flag " + strconv.Quote(g.names[v])
	}
	return "segment " + strconv.Quote(g.b.Segments[int(v)-g.nf].Name)
}

// cycle reports a reference cycle, if any, by an iterative depth-first
// search with colours (0 white, 1 on the stack, 2 done).
func (g *refGraph) cycle() error {
	total := g.nf + len(g.b.Segments)
	color := make([]uint8, total)
	type frame struct {
		v    int32
		next int
	}
	var dfs []frame
	for s := 0; s < total; s++ {
		if color[s] != 0 {
			continue
		}
		dfs = append(dfs[:0], frame{v: int32(s)})
		color[s] = 1
		for len(dfs) > 0 {
			top := &dfs[len(dfs)-1]
			out := g.edges(top.v)
			if top.next == len(out) {
				color[top.v] = 2
				dfs = dfs[:len(dfs)-1]
				continue
			}
			w := out[top.next]
			top.next++
			switch color[w] {
			case 1:
				return errf(g.name(top.v), ": reference cycle through ", g.name(w))
			case 0:
				color[w] = 1
				dfs = append(dfs, frame{v: w})
			}
		}
	}
	return nil
}
