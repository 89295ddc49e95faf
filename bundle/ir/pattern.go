package ir

// The limits of a matches() pattern (docs/ir-encoding.md, "Patterns").
//
// Go's regexp parser enforces its own limits — a parse tree at most 1000
// deep, a program of at most 128 MiB / 40 bytes of instructions — by
// panicking and recovering inside regexp/syntax.Parse. TinyGo's WebAssembly
// target has no recover, so there such a pattern traps the module where
// the Go build returns an error. CheckPattern refuses, in every build and
// before the parser runs, every pattern that could get near those limits:
// it bounds from the pattern's text the height and the size of the tree
// Go's parser would build (upper bounds computed as regexp/syntax computes
// them, FuzzCheckPatternBounds holds them to the real trees). Real
// patterns are far inside: a few dozen bytes, a few groups.
const (
	// MaxPatternLen is the longest pattern in bytes.
	MaxPatternLen = 4096
	// maxPatternHeight is regexp/syntax's maxHeight.
	maxPatternHeight = 1000
	// maxPatternSize is regexp/syntax's maxSize (instructions).
	maxPatternSize = 128 << 20 / 40
)

// patternFrame is one open group (or the whole pattern) while scanning.
type patternFrame struct {
	size, last     uint64 // size bound of the contents so far; of the last atom
	height, lastH  int    // height bound of the tallest atom so far; of the last atom
	bars           int    // '|' at this level
	atoms          bool   // an atom follows the last '|' (or the start)
	branch, widest int    // atoms in the current alternative; in the widest one
}

// extra bounds the height regexp/syntax's prefix factoring adds to an
// alternation: two levels (a concatenation and an alternation) per
// factored piece, and each factored piece is one more leading atom of
// every alternative it covers.
func (f *patternFrame) extra() int {
	if f.bars == 0 {
		return 0
	}
	return 2*max(f.widest, f.branch) + 2
}

// CheckPattern reports whether pat is within the pattern limits: at most
// MaxPatternLen bytes, and a parse tree that cannot reach regexp/syntax's
// height or size limits. It does not check the syntax (regexp.Compile
// does, after it).
func CheckPattern(pat string) error {
	if len(pat) > MaxPatternLen {
		return errf("pattern is ", itoa(len(pat)), " bytes, over the limit of ", itoa(MaxPatternLen))
	}
	height, size := patternBounds(pat)
	if height > maxPatternHeight-1 {
		return errf("pattern nests too deeply (groups, alternatives and repetitions)")
	}
	if size > maxPatternSize {
		return errf("pattern is too large once its repetitions are expanded")
	}
	return nil
}

// sat adds without overflow past 1<<62.
func sat(a, b uint64) uint64 {
	if a > 1<<62-b {
		return 1 << 62
	}
	return a + b
}

// satMul multiplies without overflow past 1<<62.
func satMul(a, b uint64) uint64 {
	if a != 0 && b > (1<<62)/a {
		return 1 << 62
	}
	return a * b
}

// patternBounds returns upper bounds of the height and the size (as
// regexp/syntax's calcHeight and calcSize count them) of the tree Go's
// parser builds for pat, and of every tree it builds on the way. Each
// literal byte, class, escape, '.', '^' or '$' is an atom of size and
// height 1; a group adds a capture, an alternation and a concatenation
// (height 3, size 2), an alternation up to two levels of prefix factoring
// per atom of its widest alternative (extra) and size 2 per '|'; a
// repetition adds a level and multiplies as calcSize does. Whatever regexp/syntax does not treat as
// syntax here only makes the bounds larger.
func patternBounds(pat string) (height int, size uint64) {
	stack := []patternFrame{{}}
	top := func() *patternFrame { return &stack[len(stack)-1] }
	atom := func(s uint64, h int) {
		f := top()
		f.size = sat(f.size, s)
		f.last, f.lastH = s, h
		f.atoms = true
		f.branch++
		if h > f.height {
			f.height = h
		}
	}
	// repeat applies a repetition to the last atom of the current level.
	repeat := func(min, max int) {
		f := top()
		if !f.atoms {
			return // nothing to repeat: regexp/syntax reports "missing argument"
		}
		sub := f.last
		var s uint64
		switch {
		case max == -1 && min == 0: // x*
			s = sat(2, sub)
		case max == -1: // x{n,} and x+
			s = sat(1, satMul(uint64(min), sub))
		default: // x{n,m} and x?
			s = sat(satMul(uint64(max), sub), uint64(max-min))
		}
		s = max1(s)
		f.size = sat(f.size-f.last, s)
		f.last = s
		f.lastH++
		if f.lastH > f.height {
			f.height = f.lastH
		}
	}
	for i := 0; i < len(pat); {
		c := pat[i]
		switch c {
		case '\\':
			next := skipEscape(pat, i, true)
			if i+1 < len(pat) && pat[i+1] == 'Q' {
				// \Q...\E: a literal of that many runes; a repetition
				// after it applies to the last one.
				top().size = sat(top().size, uint64(next-i))
			}
			i = next
			atom(1, 1)
			continue
		case '[':
			i = skipClass(pat, i)
			atom(1, 1)
			continue
		case '(':
			if len(stack) > maxPatternHeight {
				return maxPatternHeight + 1, 0
			}
			stack = append(stack, patternFrame{})
		case ')':
			if len(stack) == 1 {
				atom(1, 1) // unbalanced: a syntax error for regexp/syntax
				break
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			atom(sat(f.contents(), 2), f.height+3+f.extra())
		case '|':
			f := top()
			f.bars++
			f.atoms = false
			f.widest, f.branch = max(f.widest, f.branch), 0
		case '*':
			repeat(0, -1)
		case '+':
			repeat(1, -1)
		case '?':
			repeat(0, 1)
		case '{':
			if min, max, n, ok := parseRepeat(pat[i:]); ok {
				repeat(min, max)
				i += n
				continue
			}
			atom(1, 1) // a literal '{'
		default:
			atom(1, 1)
		}
		i++
	}
	// Unclosed groups (a syntax error for regexp/syntax) count as closed.
	for len(stack) > 1 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		atom(sat(f.contents(), 2), f.height+3+f.extra())
	}
	f := stack[0]
	return f.height + 2 + f.extra(), f.contents()
}

// contents bounds the size of a level's alternation: its atoms, one per
// '|' for the alternation and one per possibly empty alternative (an
// empty match has size 1).
func (f *patternFrame) contents() uint64 {
	return sat(f.size, 2*uint64(f.bars)+1)
}

func max1(s uint64) uint64 {
	if s < 1 {
		return 1
	}
	return s
}

// skipEscape returns the index after the escape sequence at pat[i] ('\\'):
// \x{...}, \p{...} and \P{...} to their '}', \Q...\E to the \E (outside
// classes), anything else one byte after the backslash.
func skipEscape(pat string, i int, outside bool) int {
	i++ // the backslash
	if i >= len(pat) {
		return i
	}
	switch pat[i] {
	case 'x', 'p', 'P':
		if i+1 < len(pat) && pat[i+1] == '{' {
			for j := i + 2; j < len(pat); j++ {
				if pat[j] == '}' {
					return j + 1
				}
			}
			return len(pat)
		}
		if pat[i] == 'x' {
			return min(i+3, len(pat))
		}
	case 'Q':
		if outside {
			for j := i + 1; j+1 < len(pat); j++ {
				if pat[j] == '\\' && pat[j+1] == 'E' {
					return j + 2
				}
			}
			return len(pat)
		}
	}
	return i + 1
}

// skipClass returns the index after the character class at pat[i] ('['),
// as regexp/syntax finds its end: a ']' right after "[" or "[^" is a
// member, [:name:] is a member, escapes are skipped.
func skipClass(pat string, i int) int {
	i++
	if i < len(pat) && pat[i] == '^' {
		i++
	}
	first := true
	for i < len(pat) {
		c := pat[i]
		switch {
		case c == ']' && !first:
			return i + 1
		case c == '\\':
			i = skipEscape(pat, i, false)
		case c == '[' && i+1 < len(pat) && pat[i+1] == ':':
			end := -1
			for j := i + 2; j+1 < len(pat); j++ {
				if pat[j] == ':' && pat[j+1] == ']' {
					end = j + 2
					break
				}
			}
			if end < 0 {
				i++
			} else {
				i = end
			}
		default:
			i++
		}
		first = false
	}
	return i
}

// parseRepeat reads {n}, {n,} or {n,m} at the start of s as regexp/syntax
// does (no leading zeros; otherwise '{' is a literal); a number too large
// to read is taken as 2^30.
func parseRepeat(s string) (min, max, n int, ok bool) {
	if len(s) < 3 || s[0] != '{' {
		return 0, 0, 0, false
	}
	i := 1
	num := func() (int, bool) {
		start := i
		if i+1 < len(s) && s[i] == '0' && s[i+1] >= '0' && s[i+1] <= '9' {
			return 0, false // a leading zero: not a repetition
		}
		v := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if v < 1<<30 {
				v = v*10 + int(s[i]-'0')
			}
			i++
		}
		return v, i > start
	}
	var okMin bool
	if min, okMin = num(); !okMin {
		return 0, 0, 0, false
	}
	max = min
	if i < len(s) && s[i] == ',' {
		i++
		if i < len(s) && s[i] == '}' {
			max = -1
		} else {
			var okMax bool
			if max, okMax = num(); !okMax {
				return 0, 0, 0, false
			}
		}
	}
	if i >= len(s) || s[i] != '}' {
		return 0, 0, 0, false
	}
	return min, max, i + 1, true
}
