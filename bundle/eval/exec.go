package eval

import (
	"bytes"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// cond evaluates boolean node i.
//
// The fused attribute ops share one attribute read, written out here (it
// is scalar, which is too big to inline), and one flat switch over ops
// specialised by comparison (no second switch on p.sub).
func (e *Engine) cond(i int32, st *state) tri {
	p := &e.nodes[i]
	if p.op >= fStarts && p.op <= fMatch { // the fused attribute ops
		var k kind
		var s string
		var n float64
		var b bool
		if st.slots == nil {
			v, ok := st.ctx[e.attrs[p.a].full]
			// Assertions, not a type switch: each compares the type word
			// once (a switch compares the type's hash first).
			if x, isStr := v.(string); isStr {
				k, s = kStr, x
			} else if x, isNum := v.(float64); isNum {
				k, n = kNum, x
			} else if x, isInt := v.(int); isInt { // Go callers' literals
				k, n = kNum, float64(x)
			} else {
				k, s, n, b = e.scalarSlow(p.a, st, v, ok)
			}
		} else {
			k, s, n, b = e.scalar(p.a, st)
		}
		switch p.op {
		case fStarts:
			if k != kStr {
				return unk
			}
			return triOf(strings.HasPrefix(s, p.cs))
		case fEnds:
			if k != kStr {
				return unk
			}
			return triOf(strings.HasSuffix(s, p.cs))
		case fContains:
			if k != kStr {
				return unk
			}
			return triOf(strings.Contains(s, p.cs))
		case fNumEq:
			if k != kNum {
				return unk
			}
			return triOf(n == p.cn)
		case fNumNe:
			if k != kNum {
				return unk
			}
			return triOf(n != p.cn)
		case fNumLt, fNumLe, fNumGt, fNumGe:
			if k != kNum || n != n { // NaN is unordered (constants are finite: Validate)
				return unk
			}
			switch p.op {
			case fNumLt:
				return triOf(n < p.cn)
			case fNumLe:
				return triOf(n <= p.cn)
			case fNumGt:
				return triOf(n > p.cn)
			}
			return triOf(n >= p.cn)
		case fStrEq:
			if k != kStr {
				return unk
			}
			return triOf(s == p.cs)
		case fStrNe:
			if k != kStr {
				return unk
			}
			return triOf(s != p.cs)
		case fStrCmp:
			if k != kStr {
				return unk
			}
			return cmpResult(p.sub, strings.Compare(s, p.cs))
		case fBoolIs:
			if k != kBool {
				return unk
			}
			return triOf(b == p.cb)
		case fInSet:
			if k != kStr {
				return unk
			}
			start := p.b >> 4
			for _, x := range e.strs[start : start+p.b&15] {
				// Length and first byte before the memequal call: most
				// misses ("FR" vs ["CA", "US"]) never make it.
				if len(x) == len(s) && (len(s) == 0 || x[0] == s[0]) && x == s {
					return tru
				}
			}
			return fls
		case fInMap:
			if k != kStr {
				return unk
			}
			_, ok := e.sets[p.b][s]
			return triOf(ok)
		}
		// fMatch
		if k != kStr {
			return unk
		}
		return triOf(e.res[p.b].MatchString(s))
	}
	switch p.op {
	case pop(ir.OpAnd):
		l := e.cond(p.a, st)
		if l == fls {
			return fls
		}
		r := e.cond(p.b, st)
		if r == fls {
			return fls
		}
		if l == tru && r == tru {
			return tru
		}
		return unk
	case pop(ir.OpOr):
		l := e.cond(p.a, st)
		if l == tru {
			return tru
		}
		r := e.cond(p.b, st)
		if r == tru {
			return tru
		}
		if l == fls && r == fls {
			return fls
		}
		return unk
	case pop(ir.OpNot):
		switch e.cond(p.a, st) {
		case tru:
			return fls
		case fls:
			return tru
		}
		return unk
	case fConstTri:
		if p.ck != kBool {
			return unk
		}
		return triOf(p.cb)
	}
	return e.condSlow(p, st)
}

// condSlow evaluates the generic (unfused) boolean ops. It is kept out of
// cond so that cond's frame stays small: the val temporaries here would
// otherwise be zeroed on every call of the hot path.
//
//go:noinline
func (e *Engine) condSlow(p *pnode, st *state) tri {
	switch ir.Op(p.op) {
	case ir.OpEq, ir.OpNe:
		a, b := e.value(p.a, st), e.value(p.b, st)
		r := equal(&a, &b)
		if r != unk && p.op == pop(ir.OpNe) {
			r ^= 1
		}
		return r
	case ir.OpLt, ir.OpLe, ir.OpGt, ir.OpGe:
		a, b := e.value(p.a, st), e.value(p.b, st)
		c, ok := compare(&a, &b)
		if !ok {
			return unk
		}
		return cmpResult(ir.Op(p.op), c)
	case ir.OpIn:
		a, b := e.value(p.a, st), e.value(p.b, st)
		return e.in(&a, &b, st)
	case ir.OpStartsWith, ir.OpEndsWith, ir.OpContains:
		a, b := e.value(p.a, st), e.value(p.b, st)
		if a.k != kStr || b.k != kStr {
			return unk
		}
		return strFn(ir.Op(p.op), a.s, b.s)
	case ir.OpMatches:
		a := e.value(p.a, st)
		if a.k != kStr {
			return unk
		}
		return triOf(e.res[p.b].MatchString(a.s))
	case ir.OpHas:
		var tmp val
		v := e.attr(p.a, st, &tmp)
		return triOf(v.k != kUnknown)
	case ir.OpInSegment:
		return e.segment(p.a, st)
	case ir.OpBool:
		v := e.value(p.a, st)
		if v.k != kBool {
			return unk
		}
		return triOf(v.b)
	}
	return unk
}

// value evaluates value node i.
func (e *Engine) value(i int32, st *state) val {
	p := &e.nodes[i]
	switch ir.Op(p.op) {
	case ir.OpConst:
		return e.constOp(p)
	case ir.OpAttr:
		var tmp val
		return *e.attr(p.a, st, &tmp)
	case ir.OpNow:
		return timeVal(st.now)
	case ir.OpSize:
		v := e.value(p.a, st)
		switch v.k {
		case kStr:
			return val{k: kNum, n: float64(runeCount(v.s))}
		case kList, kVals, kArgs:
			return val{k: kNum, n: float64(e.listLen(&v))}
		}
	case ir.OpSemver:
		if v := e.value(p.a, st); v.k == kStr {
			return parseSemver(v.s)
		}
	case ir.OpTimestamp:
		if v := e.value(p.a, st); v.k == kStr {
			return parseTimestamp(v.s)
		}
	case ir.OpVariant:
		if st.depth >= maxDepth {
			break
		}
		st.depth++
		f := &e.flags[p.a]
		vi, _, _, _ := e.run(f, st)
		st.depth--
		return val{k: kStr, s: e.variant(f, vi).name}
	case ir.OpList:
		return val{k: kArgs, i: [3]int64{int64(p.a), int64(p.b)}}
	}
	return val{k: kUnknown}
}

func (e *Engine) listLen(l *val) int {
	switch l.k {
	case kList:
		return listLen(l.x)
	case kVals:
		return len(l.x.([]val))
	case kArgs:
		return int(l.i[1])
	}
	return 0
}

func (e *Engine) listAt(l *val, i int, st *state) val {
	switch l.k {
	case kList:
		return listAt(l.x, i)
	case kVals:
		return l.x.([]val)[i]
	case kArgs:
		return e.value(e.args[int(l.i[0])+i], st)
	}
	return val{k: kUnknown}
}

// in implements x in list: true when an element equals x; false when the
// list is empty or some element has x's kind; otherwise unknown.
func (e *Engine) in(x, l *val, st *state) tri {
	if x.k == kUnknown {
		return unk
	}
	switch l.k {
	case kList, kVals, kArgs:
	default:
		return unk
	}
	n := e.listLen(l)
	if n == 0 {
		return fls
	}
	r := unk
	for i := 0; i < n; i++ {
		el := e.listAt(l, i, st)
		switch equal(x, &el) {
		case tru:
			return tru
		case fls:
			r = fls
		}
	}
	return r
}

// segment evaluates inSegment(s): in the key list, or When holds.
func (e *Engine) segment(si int32, st *state) tri {
	s := &e.segs[si]
	if s.keyAttr != ir.NoNode {
		k, str, num, _ := e.scalar(s.keyAttr, st)
		var buf [128]byte
		if key, ok := appendUnit(buf[:0], k, str, num); ok && s.hasKey(key) {
			return tru
		}
	}
	if s.when == ir.NoNode {
		return fls
	}
	if st.depth >= maxDepth {
		return unk
	}
	st.depth++
	r := e.cond(s.when, st)
	st.depth--
	return r
}

func (s *pseg) hasKey(key []byte) bool {
	if s.keys != nil {
		_, ok := s.keys[string(key)]
		return ok
	}
	for _, k := range s.sorted {
		if k == string(key) {
			return true
		}
	}
	if len(s.digests) == 0 {
		return false
	}
	var buf [160]byte
	in := append(append(buf[:0], s.salt...), key...)
	d := sum256(in)
	_, found := slices.BinarySearchFunc(s.digests, d, func(a, b [32]byte) int {
		return bytes.Compare(a[:], b[:])
	})
	return found
}

func strFn(op ir.Op, s, c string) tri {
	switch op {
	case ir.OpStartsWith:
		return triOf(strings.HasPrefix(s, c))
	case ir.OpEndsWith:
		return triOf(strings.HasSuffix(s, c))
	}
	return triOf(strings.Contains(s, c))
}

func cmpResult(op ir.Op, c int) tri {
	switch op {
	case ir.OpEq:
		return triOf(c == 0)
	case ir.OpNe:
		return triOf(c != 0)
	case ir.OpLt:
		return triOf(c < 0)
	case ir.OpLe:
		return triOf(c <= 0)
	case ir.OpGt:
		return triOf(c > 0)
	}
	return triOf(c >= 0)
}
