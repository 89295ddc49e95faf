package edgepack

import (
	"fmt"
	"strings"
)

// MaxPattern bounds a route pattern's length in bytes.
const MaxPattern = 512

// PatternError returns why pattern is not a valid route pattern, or ""
// when it is: the rules of the handlers' patternError
// (edgefn/viewer/src/routes.mjs), which the shared vectors in
// edgefn/viewer/testdata/patterns.json hold both to. A pattern starts
// with "/"; a segment "**" matches any number of segments; "*" inside a
// segment matches any run of characters but "/"; everything else is an
// RFC 3986 path character matched literally.
func PatternError(pattern string) string {
	if pattern == "" || pattern[0] != '/' {
		return "a pattern starts with /"
	}
	if len(pattern) > MaxPattern {
		return fmt.Sprintf("a pattern is at most %d bytes", MaxPattern)
	}
	segs := strings.Split(pattern[1:], "/")
	for i, s := range segs {
		if s == "**" {
			if i > 0 && segs[i-1] == "**" {
				return "** follows **"
			}
			continue
		}
		if strings.Contains(s, "**") {
			return "** must be a whole segment"
		}
		for _, c := range strings.ReplaceAll(s, "*", "") {
			if !literal(c) {
				return fmt.Sprintf("character %q is not allowed (percent-encode it)", string(c))
			}
		}
	}
	return ""
}

func literal(c rune) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return strings.ContainsRune("-._~!$&'()+,;=:@%", c)
}
