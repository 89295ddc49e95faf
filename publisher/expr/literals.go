package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// validateSemver accepts a semantic version as defined by SemVer 2.0.0
// (https://semver.org/spec/v2.0.0.html, section 2, 9 and 10), extended with
// an optional leading "v" and optional minor and patch numbers ("v2",
// "2.3" mean 2.0.0 and 2.3.0). Numbers fit in uint64 and have no leading
// zeros; pre-release identifiers are non-empty [0-9A-Za-z-] and numeric
// ones have no leading zeros; build identifiers are non-empty
// [0-9A-Za-z-].
func validateSemver(s string) error {
	orig := s
	bad := func(why string) error {
		return fmt.Errorf("invalid semantic version %q: %s", orig, why)
	}
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if err := checkIdents(s[i+1:], false); err != "" {
			return bad("build metadata " + err)
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if err := checkIdents(s[i+1:], true); err != "" {
			return bad("pre-release " + err)
		}
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return bad("more than three version numbers")
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return bad("version numbers must be decimal digits")
		}
		if len(p) > 1 && p[0] == '0' {
			return bad("version numbers must not have leading zeros")
		}
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return bad("version number out of range")
		}
	}
	return nil
}

// checkIdents checks dot-separated pre-release or build identifiers and
// returns a reason, or "" when valid.
func checkIdents(s string, prerelease bool) string {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return "has an empty identifier"
		}
		numeric := true
		for _, r := range id {
			switch {
			case r >= '0' && r <= '9':
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-':
				numeric = false
			default:
				return fmt.Sprintf("has an invalid character %q", r)
			}
		}
		if prerelease && numeric && len(id) > 1 && id[0] == '0' {
			return "numeric identifiers must not have leading zeros"
		}
	}
	return ""
}

// validateTimestamp accepts an RFC 3339 date-time (as CEL's timestamp()
// does): "2026-01-01T00:00:00Z", optional fractional seconds, a Z or
// ±hh:mm offset, years 0001 to 9999.
func validateTimestamp(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("invalid timestamp %q: want RFC 3339, like 2026-01-01T00:00:00Z", s)
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("invalid timestamp %q: year out of range 0001-9999", s)
	}
	return nil
}
