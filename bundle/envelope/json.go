package envelope

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner reads the two small JSON documents a verifier meets — the
// protected header and a JWKS — strictly and without reflection, so the
// package builds under TinyGo and cannot be tricked by a lenient decoder:
//
//   - the input is exactly one JSON value (RFC 8259) with optional
//     whitespace around it; anything after it is an error;
//   - object member names are compared after unescaping, and a name that
//     appears twice in one object is reported as a duplicate;
//   - strings must be valid UTF-8 and may not hold a lone UTF-16
//     surrogate escape (I-JSON, RFC 7493 §2.1);
//   - numbers are returned as their raw text, so a caller can insist on
//     plain decimal digits.
//
// Nesting is bounded by the callers' grammars (the header is flat, a JWKS
// is two levels deep), so the scanner never recurses.
type jsonScanner struct {
	data []byte
	i    int
}

// jsonKind is the kind of a scanned scalar value.
type jsonKind uint8

const (
	jsonString jsonKind = iota + 1
	jsonNumber
	jsonBool
	jsonNull
	jsonObject // an object or array starts here (not consumed)
)

// jsonError describes a grammar violation at a byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return "at byte " + strconv.Itoa(e.off) + ": " + e.msg }

func (s *jsonScanner) fail(msg string) error { return &jsonError{off: s.i, msg: msg} }

func (s *jsonScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end (a NUL byte in
// the input is never valid where peek's callers look, and end and scalar
// check the position itself).
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.i >= len(s.data) {
		return 0
	}
	return s.data[s.i]
}

// expect consumes the byte c after optional whitespace.
func (s *jsonScanner) expect(c byte, what string) error {
	if s.peek() != c {
		return s.fail("expected " + what)
	}
	s.i++
	return nil
}

// end checks that only whitespace is left.
func (s *jsonScanner) end() error {
	if s.ws(); s.i < len(s.data) {
		return s.fail("data after the JSON value")
	}
	return nil
}

// object calls member for every member of the object that starts at the
// current position, after checking that its name was not seen before in
// this object. member must consume the value (with scalar, or with its own
// nested object/array loop).
func (s *jsonScanner) object(member func(name string) error, dup func(name string) error) error {
	if err := s.expect('{', "'{'"); err != nil {
		return err
	}
	var seen []string
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("expected a member name")
		}
		name, err := s.str()
		if err != nil {
			return err
		}
		for _, n := range seen {
			if n == name {
				return dup(name)
			}
		}
		seen = append(seen, name)
		if err := s.expect(':', "':'"); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

// array calls elem for every element of the array that starts at the
// current position; elem must consume the element.
func (s *jsonScanner) array(elem func(index int) error) error {
	if err := s.expect('[', "'['"); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for n := 0; ; n++ {
		if err := elem(n); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// scalar consumes one string, number, true, false or null and returns its
// kind and text (the unescaped string, or the number's raw text). At an
// object or array it consumes nothing and returns jsonObject.
func (s *jsonScanner) scalar() (jsonKind, string, error) {
	switch c := s.peek(); {
	case c == '"':
		v, err := s.str()
		return jsonString, v, err
	case c == '-' || (c >= '0' && c <= '9'):
		v, err := s.num()
		return jsonNumber, v, err
	case c == 't':
		return jsonBool, "true", s.lit("true")
	case c == 'f':
		return jsonBool, "false", s.lit("false")
	case c == 'n':
		return jsonNull, "null", s.lit("null")
	case c == '{' || c == '[':
		return jsonObject, "", nil
	case s.i >= len(s.data):
		return 0, "", s.fail("unexpected end of input")
	}
	return 0, "", s.fail("unexpected character")
}

func (s *jsonScanner) lit(word string) error {
	if len(s.data)-s.i < len(word) || string(s.data[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return nil
}

// num consumes a number (RFC 8259 grammar) and returns its text.
func (s *jsonScanner) num() (string, error) {
	start := s.i
	if s.data[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.data) && s.data[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return "", s.fail("invalid number")
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return "", s.fail("invalid number")
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return "", s.fail("invalid number")
		}
	}
	return string(s.data[start:s.i]), nil
}

func (s *jsonScanner) digits() int {
	n := 0
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// str consumes a string and returns it unescaped.
func (s *jsonScanner) str() (string, error) {
	s.i++ // opening quote
	start := s.i
	// Fast path: no escapes.
	for s.i < len(s.data) {
		c := s.data[s.i]
		if c == '"' {
			v := s.data[start:s.i]
			if !utf8.Valid(v) {
				return "", s.fail("string is not valid UTF-8")
			}
			s.i++
			return string(v), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", s.fail("control character in string")
		}
		s.i++
	}
	buf := append([]byte(nil), s.data[start:s.i]...)
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", s.fail("string is not valid UTF-8")
			}
			s.i++
			return string(buf), nil
		case c < 0x20:
			return "", s.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		s.i++ // backslash
		if s.i >= len(s.data) {
			break
		}
		e := s.data[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || len(s.data)-s.i < 2 || s.data[s.i] != '\\' || s.data[s.i+1] != 'u' {
					return "", s.fail("lone surrogate in string")
				}
				s.i += 2
				lo, err := s.hex4()
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, lo)
				if r == utf8.RuneError {
					return "", s.fail("invalid surrogate pair in string")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", s.fail("invalid escape in string")
		}
	}
	return "", s.fail("unterminated string")
}

func (s *jsonScanner) hex4() (rune, error) {
	if len(s.data)-s.i < 4 {
		return 0, s.fail("short \\u escape")
	}
	var r rune
	for _, c := range s.data[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, s.fail("invalid \\u escape")
		}
	}
	s.i += 4
	return r, nil
}
