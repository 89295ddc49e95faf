package cli

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable returns s safe to write to a terminal as part of one line:
// control characters (C0, DEL, C1: newlines, carriage returns, escape
// sequences), Unicode format characters (bidirectional overrides, zero
// width characters) and invalid UTF-8 are written as Go escapes (\n,
// \x1b, \u202e), and backslashes are doubled so an escape cannot be
// forged. Text that came from a store or a command line (actors, reasons,
// summaries, recorded errors) goes through it before it is printed.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			sb.WriteString(`\x`)
			sb.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r == '\\':
			sb.WriteString(`\\`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			q := strconv.QuoteRuneToASCII(r) // '\n', '\x1b', '\u202e'
			sb.WriteString(q[1 : len(q)-1])
		default:
			sb.WriteString(s[i : i+n])
		}
		i += n
	}
	return sb.String()
}
