package ir

import (
	"errors"
	"math"
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

// Validate checks the bundle's structure so that code indexing its tables
// can never go out of range or loop: every index is in range, every operand
// has the kind its operator needs, node children precede their parents,
// tables are sorted, splits are well formed, prerequisites (variant()) and
// segment references are acyclic, and every variant value is valid JSON of
// its flag's type. The error names the flag, segment or rule and the node.
func (b *Bundle) Validate() error {
	if err := b.validate(); err != nil {
		return errors.New("validate bundle: " + err.Error())
	}
	return nil
}

type vErr struct{ msg string }

func (e *vErr) Error() string { return e.msg }

func errf(parts ...string) error { return &vErr{strings.Join(parts, "")} }

func itoa(i int) string { return strconv.Itoa(i) }

func (b *Bundle) validate() error {
	if b.Audience != AudienceServer && b.Audience != AudienceClient {
		return errf("invalid audience ", itoa(int(b.Audience)))
	}
	for i, c := range b.Consts {
		if err := checkConst(c, true); err != nil {
			return errf("const ", itoa(i), ": ", err.Error())
		}
	}
	// Pass 1: each node on its own. bad[i] holds the first invalid node in
	// i's subtree (or -1), so errors can be attributed to the flag or
	// segment that uses the node.
	n := len(b.Nodes)
	nodeErr := make(map[int32]error)
	bad := make([]int32, n)
	hasRef := make([]bool, n)
	anyRef := false
	for i := range b.Nodes {
		bad[i] = -1
		if err := b.checkNode(int32(i)); err != nil {
			nodeErr[int32(i)] = err
			bad[i] = int32(i)
			continue
		}
		b.forChildren(int32(i), func(c int32) {
			if bad[i] < 0 && bad[c] >= 0 {
				bad[i] = bad[c]
			}
			if hasRef[c] {
				hasRef[i] = true
			}
		})
		switch b.Nodes[i].Op {
		case OpInSegment, OpVariant:
			hasRef[i] = true
			anyRef = true
		}
	}
	root := func(what string, r int32) error {
		if r < 0 || int(r) >= n {
			return errf(": root node ", itoa(int(r)), " out of range")
		}
		if !isBoolOp(b.Nodes[r].Op) {
			return errf(": node ", itoa(int(r)), ": root ", b.Nodes[r].Op.String(), "() is not boolean")
		}
		if bad[r] >= 0 {
			return errf(": node ", itoa(int(bad[r])), ": ", nodeErr[bad[r]].Error())
		}
		return nil
	}
	for i, s := range b.Segments {
		if err := b.checkSegment(i, root); err != nil {
			return errf("segment ", strconv.Quote(s.Name), err.Error())
		}
	}
	var memo flagMemo
	for i := range b.Flags {
		if err := b.checkFlag(i, root, &memo); err != nil {
			if b.Flags[i].Key == "" {
				return errf("flag ", itoa(i), err.Error())
			}
			return errf("flag ", strconv.Quote(b.Flags[i].Key), err.Error())
		}
	}
	// Orphan invalid nodes (used by no condition) are still rejected.
	for i := range b.Nodes {
		if err := nodeErr[int32(i)]; err != nil {
			return errf("node ", itoa(i), ": ", err.Error())
		}
	}
	if !anyRef {
		// No variant() or inSegment() node: the reference graph has no
		// edges, so it has no cycle. (Skips checkCycles' per-flag tables:
		// 0.3 ms and 250 KB of a 1.7 ms Validate of 10 000 flags.)
		return nil
	}
	return b.checkCycles(hasRef)
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

// checkSegment checks segment i; errors start with ": " or " ".
func (b *Bundle) checkSegment(i int, root func(string, int32) error) error {
	s := &b.Segments[i]
	if i > 0 && b.Segments[i-1].Name >= s.Name {
		return errf(": segments not sorted strictly by name")
	}
	if s.When != NoNode {
		if err := root("", s.When); err != nil {
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

// flagMemo remembers the last variant list (per flag type) and rule list
// that checkFlag accepted. Decode hands out one slice for identically
// encoded lists (decRepeat), and the checks of a list depend only on its
// contents, the flag type (variants) and the variant count (rules), so a
// flag holding the same slice under the same conditions passes them too.
// For 10 000 F2-like flags this skipped ~90% of Validate's per-flag work
// (see the commit message).
type flagMemo struct {
	variants [TypeObject + 1][]Variant
	rules    []Rule
	rulesNV  int32
}

// sameSlice reports whether a and b are the same non-empty slice (same
// first element, same length).
func sameSlice[T any](a, b []T) bool {
	return len(a) != 0 && len(a) == len(b) && &a[0] == &b[0]
}

// checkFlag checks flag i; errors start with ": " or " ".
func (b *Bundle) checkFlag(i int, root func(string, int32) error, memo *flagMemo) error {
	f := &b.Flags[i]
	if f.Key == "" {
		return errf(": empty key")
	}
	if i > 0 && !before(b.Flags[i-1].Key, f.Key) {
		return errf(": flags not sorted strictly by key")
	}
	if f.Type < TypeBoolean || f.Type > TypeObject {
		return errf(": invalid type ", itoa(int(f.Type)))
	}
	if len(f.Variants) == 0 {
		return errf(": no variants")
	}
	if !sameSlice(f.Variants, memo.variants[f.Type]) {
		for k := range f.Variants {
			v := &f.Variants[k]
			if k > 0 && !before(f.Variants[k-1].Name, v.Name) {
				return errf(": variants not sorted strictly by name")
			}
			if err := checkJSON(v.Value, f.Type); err != nil {
				return errf(": variant ", strconv.Quote(v.Name), ": ", err.Error())
			}
		}
		memo.variants[f.Type] = f.Variants
	}
	nv := int32(len(f.Variants))
	if f.DefaultVariant < 0 || f.DefaultVariant >= nv {
		return errf(": default variant ", itoa(int(f.DefaultVariant)), " out of range")
	}
	if f.OffVariant < 0 || f.OffVariant >= nv {
		return errf(": off variant ", itoa(int(f.OffVariant)), " out of range")
	}
	if !sameSlice(f.Rules, memo.rules) || nv != memo.rulesNV {
		for r := range f.Rules {
			rule := &f.Rules[r]
			if err := root("", rule.When); err != nil {
				return errf(" rule ", itoa(r+1), err.Error())
			}
			if err := b.checkServe(&rule.Serve, nv); err != nil {
				return errf(" rule ", itoa(r+1), ": ", err.Error())
			}
		}
		memo.rules, memo.rulesNV = f.Rules, nv
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

func (b *Bundle) checkNode(i int32) error {
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
		// own check (which this node inherits through bad[]); reading
		// Consts[r.A] here without the range check panicked (found by
		// FuzzDecodeValidateShared).
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
		return idx(nd.A, len(b.Flags), "flag")
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

// checkCycles rejects cycles among flags (through variant()) and segments
// (through inSegment()), including flag -> segment -> flag.
func (b *Bundle) checkCycles(hasRef []bool) error {
	nf := len(b.Flags)
	// Vertices: flags 0..nf-1, segments nf.. .
	total := nf + len(b.Segments)
	edges := make([][]int32, total)
	seen := make([]int32, len(b.Nodes)) // epoch marks
	epoch := int32(0)
	var stack []int32
	collect := func(v int, r int32) {
		if r < 0 || !hasRef[r] {
			return
		}
		stack = append(stack[:0], r)
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[x] == epoch || !hasRef[x] {
				continue
			}
			seen[x] = epoch
			switch nd := b.Nodes[x]; nd.Op {
			case OpInSegment:
				edges[v] = append(edges[v], int32(nf)+nd.A)
			case OpVariant:
				edges[v] = append(edges[v], nd.A)
			default:
				b.forChildren(x, func(c int32) { stack = append(stack, c) })
			}
		}
	}
	for i := range b.Flags {
		epoch++
		for _, r := range b.Flags[i].Rules {
			collect(i, r.When)
		}
	}
	for i, s := range b.Segments {
		epoch++
		collect(nf+i, s.When)
	}
	name := func(v int32) string {
		if int(v) < nf {
			return "flag " + strconv.Quote(b.Flags[v].Key)
		}
		return "segment " + strconv.Quote(b.Segments[int(v)-nf].Name)
	}
	// Iterative DFS with colors: 0 white, 1 on stack, 2 done.
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
			if top.next == len(edges[top.v]) {
				color[top.v] = 2
				dfs = dfs[:len(dfs)-1]
				continue
			}
			w := edges[top.v][top.next]
			top.next++
			switch color[w] {
			case 1:
				return errf(name(top.v), ": reference cycle through ", name(w))
			case 0:
				color[w] = 1
				dfs = append(dfs, frame{v: w})
			}
		}
	}
	return nil
}
