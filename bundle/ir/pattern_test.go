package ir

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

// treeHeight and treeSize are regexp/syntax's calcHeight and calcSize of a
// parsed tree (the limits its parser enforces by panicking).
func treeHeight(re *syntax.Regexp) int {
	h := 1
	for _, sub := range re.Sub {
		h = max(h, 1+treeHeight(sub))
	}
	return h
}

func treeSize(re *syntax.Regexp) int64 {
	var size int64
	switch re.Op {
	case syntax.OpLiteral:
		size = int64(len(re.Rune))
	case syntax.OpCapture, syntax.OpStar:
		size = 2 + treeSize(re.Sub[0])
	case syntax.OpPlus, syntax.OpQuest:
		size = 1 + treeSize(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			size += treeSize(sub)
		}
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			size += treeSize(sub)
		}
		if len(re.Sub) > 1 {
			size += int64(len(re.Sub)) - 1
		}
	case syntax.OpRepeat:
		sub := treeSize(re.Sub[0])
		if re.Max == -1 {
			if re.Min == 0 {
				size = 2 + sub
			} else {
				size = 1 + int64(re.Min)*sub
			}
			break
		}
		size = int64(re.Max)*sub + int64(re.Max-re.Min)
	}
	return max(1, size)
}

// checkBounds: whatever CheckPattern accepts, Go's parser does not refuse
// for its panicking limits, and the tree it builds is within the bounds.
func checkBounds(t *testing.T, pat string) {
	t.Helper()
	if CheckPattern(pat) != nil {
		return
	}
	h, s := patternBounds(pat)
	re, err := syntax.Parse(pat, syntax.Perl)
	var se *syntax.Error
	if errors.As(err, &se) && (se.Code == syntax.ErrLarge || se.Code == syntax.ErrNestingDepth) {
		t.Fatalf("CheckPattern accepts %q, which regexp/syntax refuses: %v", pat, err)
	}
	if err != nil {
		return
	}
	if th := treeHeight(re); th > h {
		t.Fatalf("%q: tree height %d over the bound %d", pat, th, h)
	}
	if ts := treeSize(re); uint64(ts) > s {
		t.Fatalf("%q: tree size %d over the bound %d", pat, ts, s)
	}
}

var patternSeeds = []string{
	`^a`, `example\.com$`, `[0-9]+`, `(?i)PRO`, `\p{Han}`, `^[^@]+@(example|example-corp)\.com$`,
	`(?i)@example\.com$`, `^[a-z]{1,32}\.[a-z]{1,32}@[a-z]{2,63}\.[a-z]{2,10}$`, `\d{3}-\d{3}-\d{4}`,
	`[]a]`, `[^]a]`, `[[:alpha:]-]+`, `[\]\\(]`, `\Q(((\E+`, `\x{28}{2}`, `a{,2}`, `a{2`, `(?P<n>a|b)*?`,
	`x|xa|xab|xabc|xabcd|xabcde`, `((a{10}){10}){10}`, `(a*)*`, `a**`, `(?:(?:(?:a)))`, `[[:foo]a]`,
	`a{1001}`, `((a{1000}){1000}){1000}`, `\pN{3}`, `(?i)k{5}`, `(|a|)`, `()`, `)(`, `((`, `\`, `[a`,
}

func TestCheckPatternBounds(t *testing.T) {
	for _, p := range patternSeeds {
		checkBounds(t, p)
	}
}

// TestCheckPatternLimits: realistic patterns pass; what would reach
// regexp/syntax's limits, or is longer than MaxPatternLen, is refused.
func TestCheckPatternLimits(t *testing.T) {
	var domains []string
	for i := 0; i < 200; i++ {
		domains = append(domains, "d"+itoa(i)+"-corp")
	}
	for _, p := range []string{`^[^@]+@(example|example-corp)\.com$`, `^[a-z]{1,32}\.[a-z]{1,32}@[a-z]{2,63}\.[a-z]{2,10}$`,
		`^(` + strings.Join(domains, "|") + `)\.com$`, strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100),
		`(\d{1,3}\.){3}\d{1,3}`, strings.Repeat("x", MaxPatternLen)} {
		if err := CheckPattern(p); err != nil {
			t.Errorf("CheckPattern(%.40q): %v", p, err)
		}
		if _, err := regexp.Compile(p); err != nil {
			t.Errorf("regexp.Compile(%.40q): %v", p, err)
		}
	}
	for _, p := range []string{strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999),
		strings.Repeat("(", 400) + "a" + strings.Repeat(")", 400), `((a{1000}){1000}){1000}`, `(((a{100}){100}){100}){100}`,
		strings.Repeat("x", MaxPatternLen+1), strings.Repeat("(?:", 400) + "a" + strings.Repeat(")*", 400), strings.Repeat(".", 600) + "0|" + strings.Repeat(".", 600)} {
		if err := CheckPattern(p); err == nil {
			t.Errorf("CheckPattern(%.40q) accepts it", p)
		}
	}
}

func FuzzCheckPatternBounds(f *testing.F) {
	for _, p := range patternSeeds {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pat string) {
		checkBounds(t, pat)
	})
}
