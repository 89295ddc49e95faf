// Package jsonscan holds the low-level pieces that edgeflag's strict JSON
// decoders share: whitespace, literals, number syntax and strings (escapes,
// UTF-8 and UTF-16 surrogates), each reporting an *Error with the byte
// offset of the problem. The decoders themselves (the verifier's header
// and JWKS reader, the IR's value parser, edgefn's request bodies, the
// event log, the wasm guest's context decoder) keep their own grammar of
// objects and arrays on top of it, because each maps JSON straight into
// its own schema or values.
//
// The strictness contract of every function here:
//
//   - the grammar is RFC 8259's, nothing more: no comments, no single
//     quotes, no leading '+', no hexadecimal, no NaN or Infinity, no
//     trailing commas (the callers' loops), whitespace only ' ', '\t',
//     '\n' and '\r';
//   - a number is '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?;
//     Number stops after a leading '0', so "01" is a number "0" followed by
//     data the caller refuses;
//   - a string holds no unescaped byte below 0x20 and only the escapes
//     \" \\ \/ \b \f \n \r \t \uXXXX; with CheckUTF8 its bytes must be
//     valid UTF-8 (callers that validate the whole input once leave it
//     off); a \u escape of a UTF-16 surrogate must be a high one followed
//     at once by an escaped low one, unless ReplaceSurrogates asks for
//     encoding/json's behaviour (U+FFFD for a lone surrogate);
//   - String's limit bounds a string's length after unescaping, checked while it is
//     unescaped, not after.
//
// Duplicate member names, unknown members, depth and size limits belong to
// the callers' grammars, which know their schemas. The package uses only
// strconv, unicode/utf8 and unicode/utf16: no reflection, no fmt, no
// package state, so it builds under TinyGo and for wasip1.
package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// Text is the input of the scanning functions: bytes, or a string (whose
// slices then cost nothing).
type Text interface{ string | []byte }

// Error is a JSON input refused at a byte offset.
type Error struct {
	// Offset is the byte offset of the input where the problem was found.
	Offset int
	// Msg says what is wrong, e.g. "invalid escape in a string".
	Msg string
	// Limit is set when the input is well-formed but over a bound the
	// caller asked for (the limit of String).
	Limit bool
}

// Error implements error.
func (e *Error) Error() string { return "at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg }

// Mode selects String's checks.
type Mode uint8

const (
	// CheckUTF8 refuses a string whose bytes are not valid UTF-8.
	CheckUTF8 Mode = 1 << iota
	// ReplaceSurrogates decodes a \u escape of a lone UTF-16 surrogate as
	// U+FFFD, as encoding/json does, instead of refusing it.
	ReplaceSurrogates
	// Discard checks a string without unescaping it: String returns no
	// bytes (for validating parsers that build nothing).
	Discard
)

// IsSpace reports whether c is JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Space returns the offset of the first byte at or after i that is not
// whitespace (len(s) when there is none).
func Space[T Text](s T, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Literal checks that word (true, false or null) is at s[i] and returns
// the offset after it.
func Literal[T Text](s T, i int, word string) (int, error) {
	if len(s)-i < len(word) || string(s[i:i+len(word)]) != word {
		return i, fail(i, "invalid literal")
	}
	return i + len(word), nil
}

// Number checks the number that starts at s[i] (a '-' or a digit) and
// returns the offset after it; its text is s[i:end]. It does not convert
// it: callers that want a float64 call strconv.ParseFloat on the text,
// which RFC 8259's grammar makes acceptable to it.
func Number[T Text](s T, i int) (int, error) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		for j++; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
		}
	default:
		return j, fail(j, "invalid number")
	}
	if j < len(s) && s[j] == '.' {
		j++
		d := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == d {
			return j, fail(j, "invalid number: no digit after '.' in the fraction")
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		d := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == d {
			return j, fail(j, "invalid number: no digit in the exponent")
		}
	}
	return j, nil
}

// Plain returns the offset after the closing quote of the string whose
// opening quote is at s[i] when it holds no escape and no control byte,
// and -1 otherwise (or when it is not terminated). It is the fast path of
// String, small enough for the compiler to inline into a caller's own:
// the content is s[i+1:end-1], and only what String checks beyond the
// grammar (CheckUTF8, the limit) is left to the caller.
func Plain[T Text](s T, i int) int {
	for j := i + 1; j < len(s); j++ {
		if c := s[j]; c == '"' {
			return j + 1
		} else if c == '\\' || c < 0x20 {
			return -1
		}
	}
	return -1
}

// String checks the string whose opening quote is at s[i] and returns the
// offset after its closing quote. When the string holds no escape, out is
// nil and its content is s[i+1:end-1], untouched; otherwise out is the
// unescaped content, appended to buf[:0] (pass the previous out back as
// buf to reuse it), and never nil — except with Discard, which returns no
// bytes at all. limit > 0 bounds the content's length in bytes after
// unescaping (an Error with Limit set).
func String[T Text](s T, i int, buf []byte, mode Mode, limit int) (end int, out []byte, err error) {
	start := i + 1
	for j := start; j < len(s); j++ {
		c := s[j]
		if c == '"' {
			if limit > 0 && j-start > limit {
				return j, nil, tooLong(start, limit)
			}
			if mode&CheckUTF8 != 0 && !ValidUTF8(s[start:j]) {
				return j, nil, fail(j, "invalid UTF-8 in string")
			}
			return j + 1, nil, nil
		}
		if c == '\\' || c < 0x20 {
			return unescape(s, i, j, buf, mode, limit)
		}
	}
	return len(s), nil, fail(i, "unterminated string")
}

// unescape is String from the first escape or control byte at s[j] of the
// string whose quote is at s[q]. It is written for size as much as speed
// (it is linked into the wasm modules once per input type): errors are
// built out of line, surrogates are decoded in place.
func unescape[T Text](s T, q, j int, buf []byte, mode Mode, limit int) (int, []byte, error) {
	start := q + 1
	keep := mode&Discard == 0
	var b []byte
	if keep {
		b = append(buf[:0], s[start:j]...)
	}
	n := j - start // content length so far
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	for j < len(s) {
		if n > limit {
			return j, nil, tooLong(j, limit)
		}
		c := s[j]
		if c == '"' {
			// Escapes are ASCII and decode to valid UTF-8, so the raw
			// bytes are valid exactly when the content is.
			if mode&CheckUTF8 != 0 && !ValidUTF8(s[start:j]) {
				return j, nil, fail(j, "invalid UTF-8 in string")
			}
			return j + 1, b, nil
		}
		if c < 0x20 {
			return j, nil, fail(j, "unescaped control character in a string")
		}
		if c != '\\' {
			if keep {
				b = append(b, c)
			}
			n++
			j++
			continue
		}
		if j+1 >= len(s) {
			return j, nil, fail(q, "unterminated string")
		}
		r := rune(s[j+1])
		switch r {
		case '"', '\\', '/':
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			if r = hex4(s, j+2); r < 0 {
				return j, nil, badHex(j+2, r)
			}
			j += 4
			if r >= 0xd800 && r < 0xe000 {
				// A high surrogate followed by an escaped low one is one
				// code point; any other is lone.
				lo := rune(-3)
				if r < 0xdc00 && j+3 < len(s) && s[j+2] == '\\' && s[j+3] == 'u' {
					if lo = hex4(s, j+4); lo < 0 {
						return j, nil, badHex(j+4, lo)
					}
				}
				switch {
				case lo >= 0xdc00 && lo < 0xe000:
					r = (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000
					j += 6
				case mode&ReplaceSurrogates != 0:
					r = utf8.RuneError
				default:
					return j - 4, nil, fail(j-4, "lone UTF-16 surrogate in a string")
				}
			}
		default:
			return j, nil, fail(j, "invalid escape in a string")
		}
		if keep {
			b = utf8.AppendRune(b, r)
			n = len(b)
		} else {
			n += utf8.RuneLen(r)
		}
		j += 2
	}
	return len(s), nil, fail(q, "unterminated string")
}

// hex4 decodes the four hex digits of a \u escape at s[i]: -1 when there
// are fewer than four bytes, -2 when one is not a hex digit.
func hex4[T Text](s T, i int) rune {
	if len(s)-i < 4 {
		return -1
	}
	var r rune
	for k := i; k < i+4; k++ {
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -2
		}
		r = r<<4 | rune(c)
	}
	return r
}

// The errors, out of line and not generic: one copy each in a binary.

//go:noinline
func fail(off int, msg string) error { return &Error{Offset: off, Msg: msg} }

func tooLong(off, limit int) error {
	return &Error{Offset: off, Msg: "string longer than " + strconv.Itoa(limit) + " bytes", Limit: true}
}

func badHex(off int, code rune) error {
	if code == -1 {
		return fail(off, "short \\u escape")
	}
	return fail(off, "invalid \\u escape")
}

// ValidUTF8 is utf8.Valid or utf8.ValidString, whichever s is, with an
// ASCII loop in front that the compiler inlines (most strings here are
// short and ASCII).
func ValidUTF8[T Text](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return validFrom(s[i:])
		}
	}
	return true
}

func validFrom[T Text](s T) bool {
	switch v := any(s).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	return false
}
