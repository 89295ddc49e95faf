package names

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"shop", "new-checkout", "v1.2", "a~b", "_x", "-x", "A0", strings.Repeat("a", MaxLen)} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                            "is empty",
		".":                           `must not start with '.'`,
		"..":                          `must not start with '.'`,
		".hidden":                     `must not start with '.'`,
		"~root":                       `must not start with '~'`,
		"a/b":                         "is not URL-safe",
		"a b":                         "is not URL-safe",
		"ä":                           "is not URL-safe",
		"a\x00":                       "is not URL-safe",
		strings.Repeat("a", 1+MaxLen): "is longer than 128 bytes",
	} {
		err := Check(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want %q", bad, err, want)
		}
	}
}
