package ir

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of variant values.
const maxJSONDepth = 64

// ParseJSON decodes one JSON value (RFC 8259, nesting at most 64 deep)
// into bool, string, float64, nil, map[string]any or []any. It is the
// grammar Validate checks variant values with, so a bundle that validates
// always decodes. It is small and reflection-free: the engine cannot use
// encoding/json (heavy, and weak under TinyGo).
//
// The input is copied into a string at the first string value, and
// escape-free strings and object keys in the result are slices of that
// copy: one allocation instead of one per string (the wasm guest decodes a
// context per call with it).
func ParseJSON(data []byte) (any, error) { return parseJSON(data) }

// ParseJSONString is ParseJSON of a string. Strings and object keys
// without escapes in the result are substrings of s, not copies.
func ParseJSONString(s string) (any, error) { return parseJSON(s) }

func parseJSON[T string | []byte](data T) (any, error) {
	p := jsonParser[T]{data: data, build: true}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.data) {
		return nil, p.fail("trailing data")
	}
	return v, nil
}

// checkJSON checks that data is exactly one valid JSON value of the flag
// type: true/false, a string, a finite number, or an object or array. It
// runs the parser without building values, so it does not allocate.
func checkJSON(data []byte, t FlagType) error {
	_, err := checkValue(data, t, false)
	return err
}

// checkValue is checkJSON, and with build also returns the value, as
// ParseJSON would (the Reader checks and parses variant values at once).
func checkValue[T string | []byte](data T, t FlagType, build bool) (any, error) {
	p := jsonParser[T]{data: data, build: build}
	p.ws()
	if p.i >= len(p.data) {
		return nil, errf("empty JSON value")
	}
	first := p.data[p.i]
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.data) {
		return nil, p.fail("trailing data")
	}
	ok := false
	switch t {
	case TypeBoolean:
		ok = first == 't' || first == 'f'
	case TypeString:
		ok = first == '"'
	case TypeNumber:
		ok = first == '-' || (first >= '0' && first <= '9')
	case TypeObject:
		ok = first == '{' || first == '['
	}
	if !ok {
		return nil, errf("value is not a JSON ", t.String())
	}
	return v, nil
}

// jsonParser is a recursive-descent JSON parser. With build unset it only
// checks the grammar and every value it returns is nil.
type jsonParser[T string | []byte] struct {
	data  T
	src   string // data as a string once a string is built (free for a string): strings are sliced from it
	i     int
	build bool
}

// validUTF8 is utf8.Valid or utf8.ValidString, whichever s is.
func validUTF8[T string | []byte](s T) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		// string of a short slice: a stack copy for []byte, nothing for
		// a string.
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && n == 1 {
			return false
		}
		i += n
	}
	return true
}

func (p *jsonParser[T]) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser[T]) fail(what string) error {
	return errf("JSON: ", what, " at offset ", itoa(p.i))
}

func (p *jsonParser[T]) lit(s string, v any) (any, error) {
	if len(p.data)-p.i < len(s) || string(p.data[p.i:p.i+len(s)]) != s {
		return nil, p.fail("invalid literal")
	}
	p.i += len(s)
	return v, nil
}

func (p *jsonParser[T]) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.fail("nesting too deep")
	}
	p.ws()
	if p.i >= len(p.data) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil || !p.build {
			return nil, err
		}
		return s, nil
	case c == 't':
		return p.lit("true", true)
	case c == 'f':
		return p.lit("false", false)
	case c == 'n':
		return p.lit("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.num()
	}
	return nil, p.fail("unexpected character")
}

func (p *jsonParser[T]) object(depth int) (any, error) {
	p.i++ // '{'
	var m map[string]any
	if p.build {
		m = map[string]any{}
	}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.fail("expected object key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.fail("expected ':'")
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.build {
			m[k] = v
		}
		p.ws()
		if p.i >= len(p.data) {
			return nil, p.fail("unexpected end")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
			return m, nil
		}
		return nil, p.fail("expected ',' or '}'")
	}
}

func (p *jsonParser[T]) array(depth int) (any, error) {
	p.i++ // '['
	// Elements are collected on the stack and copied into an exactly
	// sized slice at the end.
	var buf [8]any
	l := buf[:0]
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		if !p.build {
			return nil, nil
		}
		return []any{}, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.build {
			l = append(l, v)
		}
		p.ws()
		if p.i >= len(p.data) {
			return nil, p.fail("unexpected end")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			continue
		case ']':
			p.i++
			if !p.build {
				return nil, nil
			}
			return append(make([]any, 0, len(l)), l...), nil
		}
		return nil, p.fail("expected ',' or ']'")
	}
}

// str reads a string starting at its opening quote and, when building,
// returns it unescaped (a lone surrogate escape becomes U+FFFD). Raw bytes
// must be valid UTF-8 (RFC 8259).
func (p *jsonParser[T]) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.data) { // fast path: no escapes
		c := p.data[p.i]
		if c == '"' {
			p.i++
			if !validUTF8(p.data[start : p.i-1]) {
				return "", p.fail("invalid UTF-8 in string")
			}
			if !p.build {
				return "", nil
			}
			if len(p.src) != len(p.data) {
				p.src = string(p.data)
			}
			return p.src[start : p.i-1], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	var buf []byte
	if p.build {
		buf = append(buf, p.data[start:p.i]...)
	}
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			// Escapes are ASCII, so the raw span is valid UTF-8 exactly
			// when the unescaped string is.
			if !validUTF8(p.data[start : p.i-1]) {
				return "", p.fail("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			if p.build {
				buf = append(buf, c)
			}
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.data) {
			return "", p.fail("unexpected end in string")
		}
		e := p.data[p.i]
		p.i++
		var r rune
		switch e {
		case '"', '\\', '/':
			r = rune(e)
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
			var err error
			if r, err = p.hex4(); err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one
				// code point; anything else is replaced.
				lone := utf8.RuneError
				if p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					lo, err := p.hex4()
					if err != nil {
						return "", err
					}
					if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
						lone = dec
					} else {
						p.i = save
					}
				}
				r = lone
			}
		default:
			return "", p.fail("invalid escape")
		}
		if p.build {
			buf = utf8.AppendRune(buf, r)
		}
	}
	return "", p.fail("unterminated string")
}

// hex4 reads the four hex digits of a \u escape.
func (p *jsonParser[T]) hex4() (rune, error) {
	if len(p.data)-p.i < 4 {
		return 0, p.fail("short \\u escape")
	}
	var r rune
	for k := p.i; k < p.i+4; k++ {
		c := p.data[k]
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, p.fail("invalid \\u escape")
		}
	}
	p.i += 4
	return r, nil
}

// num reads a number with RFC 8259's grammar (no leading zeros, digits
// after '.' and 'e') that fits a float64.
func (p *jsonParser[T]) num() (any, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	if n := p.digits(); n == 0 {
		return nil, p.fail("invalid number")
	} else if n > 1 && p.data[intStart] == '0' {
		return nil, p.fail("leading zero in number")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, p.fail("invalid number fraction")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return nil, p.fail("invalid number exponent")
		}
	}
	f, err := strconv.ParseFloat(string(p.data[start:p.i]), 64)
	if err != nil {
		return nil, p.fail("number out of range")
	}
	if !p.build {
		return nil, nil
	}
	return f, nil
}

func (p *jsonParser[T]) digits() int {
	n := 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
