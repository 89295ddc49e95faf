// Package names is the one rule for the names edgeflag puts in URLs, store
// keys and results: projects, environments, flags, segments, variants,
// rules and webhooks. Lint reports a name that breaks it at the place it
// was written; the stores refuse it as well, so a name that lint would
// reject never becomes a path.
package names

import (
	"errors"
	"fmt"
)

// MaxLen is the longest name, in bytes.
const MaxLen = 128

// Charset describes the allowed characters for messages and docs: RFC
// 3986's unreserved set, so a name never needs escaping in a URL.
const Charset = "letters, digits, '.', '_', '~' and '-'"

// Check reports whether s is a valid name: 1 to MaxLen bytes of Charset,
// not starting with '.' or '~' (so never ".", "..", a hidden file or a
// home-directory path). The error text completes a sentence that starts
// with the name ("flag key \"x y\" is not URL-safe (...)").
func Check(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	for i := 0; i < len(s); i++ {
		if !allowed(s[i]) {
			return fmt.Errorf("is not URL-safe (allowed: %s)", Charset)
		}
	}
	if s[0] == '.' || s[0] == '~' {
		return fmt.Errorf("must not start with %q (names become store paths: \".\", \"..\" and hidden or home-directory names are refused)", s[0])
	}
	if len(s) > MaxLen {
		return fmt.Errorf("is longer than %d bytes", MaxLen)
	}
	return nil
}

func allowed(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}
