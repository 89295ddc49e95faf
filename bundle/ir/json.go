package ir

import (
	"strconv"

	"github.com/edgeflag/edgeflag/internal/jsonscan"
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

func (p *jsonParser[T]) ws() { p.i = jsonscan.Space(p.data, p.i) }

func (p *jsonParser[T]) fail(what string) error {
	return errf("JSON: ", what, " at offset ", itoa(p.i))
}

// scanFail is an error of the scanner (at its own offset) worded as fail
// words one.
func scanFail(err error) error {
	if e, ok := err.(*jsonscan.Error); ok {
		return errf("JSON: ", e.Msg, " at offset ", itoa(e.Offset))
	}
	return err
}

func (p *jsonParser[T]) lit(s string, v any) (any, error) {
	end, err := jsonscan.Literal(p.data, p.i, s)
	if err != nil {
		return nil, scanFail(err)
	}
	p.i = end
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
// returns it unescaped (a lone surrogate escape becomes U+FFFD, as
// encoding/json decodes it). Raw bytes must be valid UTF-8 (RFC 8259).
func (p *jsonParser[T]) str() (string, error) {
	start := p.i + 1
	end := jsonscan.Plain(p.data, p.i) // inlined: the common case
	var out []byte
	if end < 0 || !jsonscan.ValidUTF8(p.data[start:end-1]) {
		// Escapes, and every error: the scanner's whole path.
		mode := jsonscan.CheckUTF8 | jsonscan.ReplaceSurrogates
		if !p.build {
			mode |= jsonscan.Discard
		}
		var err error
		if end, out, err = jsonscan.String(p.data, p.i, nil, mode, 0); err != nil {
			return "", scanFail(err)
		}
	}
	p.i = end
	if !p.build {
		return "", nil
	}
	if out != nil {
		return string(out), nil
	}
	if len(p.src) != len(p.data) {
		p.src = string(p.data)
	}
	return p.src[start : end-1], nil
}

// num reads a number with RFC 8259's grammar (no leading zeros, digits
// after '.' and 'e') that fits a float64.
func (p *jsonParser[T]) num() (any, error) {
	start := p.i
	end, err := jsonscan.Number(p.data, start)
	if err != nil {
		return nil, scanFail(err)
	}
	if end < len(p.data) && p.data[end] >= '0' && p.data[end] <= '9' {
		// The scanner stops after a leading 0; the digits after it
		// would be refused as trailing data, but this says why.
		for p.i = end; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
		}
		return nil, p.fail("leading zero in number")
	}
	p.i = end
	f, err := strconv.ParseFloat(string(p.data[start:end]), 64)
	if err != nil {
		return nil, p.fail("number out of range")
	}
	if !p.build {
		return nil, nil
	}
	return f, nil
}
