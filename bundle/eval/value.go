package eval

import (
	"strings"
	"time"
	"unicode/utf8"
)

// kind is the runtime type of a val.
type kind uint8

const (
	kUnresolved kind = iota // slot not looked up yet (zero value)
	kUnknown                // missing attribute, mismatch, invalid conversion
	kNull
	kBool
	kNum
	kStr
	kSemver // i[0..2] major, minor, patch (as uint64 bits); s prerelease
	kTime   // i[0] unix seconds, i[1] nanoseconds
	kList   // x: a Go slice from the context ([]any, []string, ...)
	kVals   // x: []val prepared at load (constant list)
	kArgs   // i[0] start in Args, i[1] count (OpList, evaluated lazily)
	kOther  // a present value of no comparable kind (maps, odd types)
)

// val is an expression value. It is passed by value and never allocates.
type val struct {
	k kind
	b bool
	n float64
	s string
	i [3]int64
	x any
}

// attrPath is one attribute path, split at load.
type attrPath struct {
	full  string
	parts []string // nil when the path has no '.'
}

func splitPath(p string) attrPath {
	a := attrPath{full: p}
	if strings.IndexByte(p, '.') >= 0 {
		a.parts = strings.Split(p, ".")
	}
	return a
}

// lookup finds the attribute: the flat key first, then the nested path.
func (a *attrPath) lookup(ctx Context, out *val) {
	if v, ok := ctx[a.full]; ok {
		setVal(out, v)
		return
	}
	a.nested(ctx, out)
}

// nested resolves the dotted path through nested maps (after the flat key
// was not found).
func (a *attrPath) nested(ctx Context, out *val) {
	out.k = kUnknown
	if a.parts == nil {
		return
	}
	var cur any = map[string]any(ctx)
	for _, p := range a.parts {
		var v any
		var ok bool
		switch m := cur.(type) {
		case map[string]any:
			v, ok = m[p]
		case Context:
			v, ok = m[p]
		case map[string]string:
			var s string
			s, ok = m[p]
			v = s
		}
		if !ok {
			return
		}
		cur = v
	}
	setVal(out, cur)
}

// setVal converts a context value into *out, setting only the fields its
// kind uses (out starts as a zero or unknown val).
func setVal(out *val, v any) {
	switch x := v.(type) {
	case string:
		out.k, out.s = kStr, x
	case float64:
		out.k, out.n = kNum, x
	case bool:
		out.k, out.b = kBool, x
	case int:
		out.k, out.n = kNum, float64(x)
	default:
		*out = toVal(v)
	}
}

// toVal converts a context value. Every Go numeric type is a number.
func toVal(v any) val {
	switch x := v.(type) {
	case nil:
		return val{k: kNull}
	case string:
		return val{k: kStr, s: x}
	case bool:
		return val{k: kBool, b: x}
	case float64:
		return val{k: kNum, n: x}
	case int:
		return val{k: kNum, n: float64(x)}
	case int64:
		return val{k: kNum, n: float64(x)}
	case int32:
		return val{k: kNum, n: float64(x)}
	case float32:
		return val{k: kNum, n: float64(x)}
	case uint:
		return val{k: kNum, n: float64(x)}
	case uint64:
		return val{k: kNum, n: float64(x)}
	case uint32:
		return val{k: kNum, n: float64(x)}
	case int8:
		return val{k: kNum, n: float64(x)}
	case int16:
		return val{k: kNum, n: float64(x)}
	case uint8:
		return val{k: kNum, n: float64(x)}
	case uint16:
		return val{k: kNum, n: float64(x)}
	case []any, []string, []float64, []int, []int64, []bool:
		return val{k: kList, x: v}
	}
	return val{k: kOther}
}

// listLen returns the length of a raw context list.
func listLen(x any) int {
	switch l := x.(type) {
	case []any:
		return len(l)
	case []string:
		return len(l)
	case []float64:
		return len(l)
	case []int:
		return len(l)
	case []int64:
		return len(l)
	case []bool:
		return len(l)
	}
	return 0
}

// listAt returns element i of a raw context list (i < listLen).
func listAt(x any, i int) val {
	switch l := x.(type) {
	case []any:
		return toVal(l[i])
	case []string:
		return val{k: kStr, s: l[i]}
	case []float64:
		return val{k: kNum, n: l[i]}
	case []int:
		return val{k: kNum, n: float64(l[i])}
	case []int64:
		return val{k: kNum, n: float64(l[i])}
	case []bool:
		return val{k: kBool, b: l[i]}
	}
	return val{k: kUnknown}
}

// tri is a three-valued truth: false, true or unknown.
type tri uint8

const (
	fls tri = iota
	tru
	unk
)

func triOf(b bool) tri {
	if b {
		return tru
	}
	return fls
}

// compare compares a and b of the same comparable kind: -1, 0, 1; ok false on
// a type mismatch (or an unordered pair such as NaN).
func compare(a, b *val) (int, bool) {
	if a.k != b.k {
		return 0, false
	}
	switch a.k {
	case kNum:
		switch {
		case a.n < b.n:
			return -1, true
		case a.n > b.n:
			return 1, true
		case a.n == b.n:
			return 0, true
		}
		return 0, false // NaN
	case kStr:
		return strings.Compare(a.s, b.s), true
	case kSemver:
		return semverCompare(a, b), true
	case kTime:
		switch {
		case a.i[0] != b.i[0]:
			if a.i[0] < b.i[0] {
				return -1, true
			}
			return 1, true
		case a.i[1] < b.i[1]:
			return -1, true
		case a.i[1] > b.i[1]:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// equal implements == on two values: defined for numbers, strings, bools,
// semvers and timestamps of the same kind; otherwise unknown.
func equal(a, b *val) tri {
	if a.k == kBool && b.k == kBool {
		return triOf(a.b == b.b)
	}
	if a.k == kNum && b.k == kNum {
		return triOf(a.n == b.n) // NaN != NaN, as in CEL
	}
	c, ok := compare(a, b)
	if !ok {
		return unk
	}
	return triOf(c == 0)
}

func runeCount(s string) int { return utf8.RuneCountInString(s) }

// timeVal converts a time.Time to a timestamp value.
func timeVal(t time.Time) val {
	return val{k: kTime, i: [3]int64{t.Unix(), int64(t.Nanosecond())}}
}

// parseTimestamp parses RFC 3339 (with a zone offset or Z).
func parseTimestamp(s string) val {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return val{k: kUnknown}
	}
	return timeVal(t)
}

// parseSemver parses a SemVer 2.0.0 version, accepting a leading "v" and a
// missing minor or patch ("2" = 2.0.0, "2.3" = 2.3.0). Invalid: unknown.
func parseSemver(s string) val {
	bad := val{k: kUnknown}
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdents(s[i+1:], false) {
			return bad
		}
		s = s[:i]
	}
	pre := ""
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre = s[i+1:]
		if !validIdents(pre, true) {
			return bad
		}
		s = s[:i]
	}
	v := val{k: kSemver, s: pre}
	for part := 0; part < 3; part++ {
		if s == "" {
			if part == 0 {
				return bad
			}
			break
		}
		end := strings.IndexByte(s, '.')
		num := s
		if end >= 0 {
			num, s = s[:end], s[end+1:]
			if s == "" || part == 2 {
				return bad
			}
		} else {
			s = ""
		}
		n, ok := parseNumID(num)
		if !ok {
			return bad
		}
		v.i[part] = int64(n)
	}
	return v
}

// parseNumID parses a numeric identifier: digits, no leading zero.
func parseNumID(s string) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<64-1-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// prerelease identifiers must not have leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for {
		id := s
		i := strings.IndexByte(s, '.')
		if i >= 0 {
			id, s = s[:i], s[i+1:]
		}
		if id == "" {
			return false
		}
		numeric := true
		for j := 0; j < len(id); j++ {
			c := id[j]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
		if i < 0 {
			return true
		}
	}
}

// semverCompare orders two semvers by SemVer 2.0.0 precedence.
func semverCompare(a, b *val) int {
	for i := 0; i < 3; i++ {
		x, y := uint64(a.i[i]), uint64(b.i[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.s == b.s:
		return 0
	case a.s == "":
		return 1
	case b.s == "":
		return -1
	}
	p, q := a.s, b.s
	for {
		var x, y string
		x, p, _ = strings.Cut(p, ".")
		y, q, _ = strings.Cut(q, ".")
		if c := compareIdent(x, y); c != 0 {
			return c
		}
		if p == "" || q == "" {
			break
		}
	}
	// One list is a prefix of the other (both exhausted equal is handled
	// by a.s == b.s above).
	switch {
	case p == "" && q == "":
		return 0
	case p == "":
		return -1
	}
	return 1
}

func compareIdent(x, y string) int {
	xn, yn := isNumeric(x), isNumeric(y)
	switch {
	case xn && yn:
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	case xn:
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
