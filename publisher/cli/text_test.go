package cli

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"ana":                          "ana",
		"café ✓":                       "café ✓",
		"fix\nv9  2026 publish by eve": `fix\nv9  2026 publish by eve`,
		"\x1b[2J\x1b]0;pwned\x07":      `\x1b[2J\x1b]0;pwned\a`,
		"a\rb\tc\x7f":                  `a\rb\tc\x7f`,
		"\u009b31m":                    `\u009b31m`,
		"evil\u202eexe.txt":            `evil\u202eexe.txt`,
		"zero\u200bwidth":              `zero\u200bwidth`,
		`back\nslash`:                  `back\\nslash`,
		"bad\xffutf8":                  `bad\xffutf8`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// The allowed scopes cannot be changed by a caller: each call is a copy.
func TestAPIKeyScopesIsACopy(t *testing.T) {
	s := APIKeyScopes()
	s[0] = "admin:all"
	if got := APIKeyScopes(); got[0] != "flags:read" || len(got) != 3 {
		t.Errorf("APIKeyScopes() = %v after a caller's write", got)
	}
}
