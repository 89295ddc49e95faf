package envelope

import (
	"strconv"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/internal/jsonscan"
)

// jsonScanner reads the two small JSON documents a verifier meets — the
// protected header and a JWKS — strictly and without reflection, so the
// package builds under TinyGo and cannot be tricked by a lenient decoder
// (the tokens are internal/jsonscan's; objects and arrays are read here):
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

// scanErr is an error of the scanner as a *jsonError.
func scanErr(err error) error {
	// The scanner returns its *Error unwrapped (errors.As would link
	// reflection into the wasm module).
	if e, ok := err.(*jsonscan.Error); ok {
		return &jsonError{off: e.Offset, msg: e.Msg}
	}
	return err
}

func (s *jsonScanner) ws() { s.i = jsonscan.Space(s.data, s.i) }

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
	end, err := jsonscan.Literal(s.data, s.i, word)
	s.i = end
	return scanErr(err)
}

// num consumes a number (RFC 8259 grammar) and returns its text.
func (s *jsonScanner) num() (string, error) {
	start := s.i
	end, err := jsonscan.Number(s.data, start)
	s.i = end
	if err != nil {
		return "", scanErr(err)
	}
	return string(s.data[start:end]), nil
}

// str consumes a string and returns it unescaped.
func (s *jsonScanner) str() (string, error) {
	if end := jsonscan.Plain(s.data, s.i); end > 0 && utf8.Valid(s.data[s.i+1:end-1]) { // inlined: the common case
		v := string(s.data[s.i+1 : end-1])
		s.i = end
		return v, nil
	}
	// Escapes, and every error: the scanner's whole path.
	end, out, err := jsonscan.String(s.data, s.i, nil, jsonscan.CheckUTF8, 0)
	if err != nil {
		s.i = end
		return "", scanErr(err)
	}
	v := s.data[s.i+1 : end-1]
	if out != nil {
		v = out
	}
	s.i = end
	return string(v), nil
}
