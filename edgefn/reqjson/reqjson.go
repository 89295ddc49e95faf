// Package reqjson decodes the JSON bodies of edgefn requests: untrusted
// bytes from the network. It is strict where encoding/json is lenient and
// bounded where encoding/json is not:
//
//   - the input must be valid UTF-8 and one JSON value (RFC 8259) with
//     nothing but whitespace after it;
//   - a member name may appear only once per object (compared after
//     unescaping), so two components can never see two different values;
//   - \u escapes must form valid UTF-16 (no lone surrogates), control
//     characters must be escaped;
//   - nesting depth, the number of members and elements, and the length of
//     every string are limited, and each limit is checked before the work it
//     bounds.
//
// Values decode as encoding/json decodes into an interface: map[string]any,
// []any, string, float64, bool and nil. Errors carry the byte offset.
package reqjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits bound a document. Zero fields take the Default values.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays (the document's
	// outermost value is depth 1).
	MaxDepth int
	// MaxValues is the most object members plus array elements in the
	// whole document.
	MaxValues int
	// MaxString is the longest string or member name, in bytes after
	// unescaping.
	MaxString int
}

// Defaults: a request body is at most 1 MiB (enforced by the reader);
// within it these bound what one context can cost to decode and hold.
const (
	DefaultMaxDepth  = 16
	DefaultMaxValues = 2000
	DefaultMaxString = 8192
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxString <= 0 {
		l.MaxString = DefaultMaxString
	}
	return l
}

// Error is a decoding error at a byte offset of the input.
type Error struct {
	// Offset is the byte offset where the problem was found.
	Offset int
	// Msg says what is wrong, e.g. `duplicate member "plan"`.
	Msg string
	// Limit is true when the input is well-formed so far but exceeds a
	// Limits bound.
	Limit bool
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg) }

// Parse decodes one JSON value from data under lim.
func Parse(data []byte, lim Limits) (any, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, &Error{Offset: off, Msg: "invalid UTF-8"}
	}
	p := parser{data: data, lim: lim.withDefaults()}
	p.skipSpace()
	v, err := p.value(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errf("unexpected %s after the value", p.what())
	}
	return v, nil
}

type parser struct {
	data   []byte
	pos    int
	lim    Limits
	values int
	buf    []byte // scratch for strings with escapes
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) limitf(format string, args ...any) error {
	return &Error{Offset: p.pos, Msg: fmt.Sprintf(format, args...), Limit: true}
}

// what names the byte at pos for an error message.
func (p *parser) what() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	c := p.data[p.pos]
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errf("unexpected end of input, want a value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.errf("unexpected %s, want a value", p.what())
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *parser) count() error {
	p.values++
	if p.values > p.lim.MaxValues {
		return p.limitf("more than %d members and elements", p.lim.MaxValues)
	}
	return nil
}

func (p *parser) object(depth int) (any, error) {
	if depth > p.lim.MaxDepth {
		return nil, p.limitf("nested deeper than %d levels", p.lim.MaxDepth)
	}
	p.pos++ // {
	m := map[string]any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errf("unexpected %s, want a member name", p.what())
		}
		at := p.pos
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &Error{Offset: at, Msg: fmt.Sprintf("duplicate member %q", k)}
		}
		if err := p.count(); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errf("unexpected %s, want ':'", p.what())
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
		if done, err := p.next('}'); done || err != nil {
			return m, err
		}
	}
}

func (p *parser) array(depth int) (any, error) {
	if depth > p.lim.MaxDepth {
		return nil, p.limitf("nested deeper than %d levels", p.lim.MaxDepth)
	}
	p.pos++ // [
	a := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return a, nil
	}
	for {
		if err := p.count(); err != nil {
			return nil, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if done, err := p.next(']'); done || err != nil {
			return a, err
		}
	}
}

// next reads what follows a member or element: ',' (more to come) or
// closing (done).
func (p *parser) next(closing byte) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.errf("unexpected end of input, want ',' or '%c'", closing)
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.errf("unexpected %s, want ',' or '%c'", p.what(), closing)
}

// str decodes the string starting at pos (a '"').
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	// Fast path: no escapes.
	for i := p.pos; i < len(p.data); i++ {
		c := p.data[i]
		if c == '"' {
			if i-p.pos > p.lim.MaxString {
				return "", p.limitf("string longer than %d bytes", p.lim.MaxString)
			}
			s := string(p.data[p.pos:i])
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.pos = i
			return "", p.errf("unescaped control character 0x%02x in a string", c)
		}
	}
	b := p.buf[:0]
	for {
		if p.pos >= len(p.data) {
			p.pos = start
			return "", p.errf("unterminated string")
		}
		if len(b) > p.lim.MaxString {
			return "", p.limitf("string longer than %d bytes", p.lim.MaxString)
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.buf = b
			if len(b) > p.lim.MaxString {
				return "", p.limitf("string longer than %d bytes", p.lim.MaxString)
			}
			return string(b), nil
		case c < 0x20:
			return "", p.errf("unescaped control character 0x%02x in a string", c)
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		// escape
		if p.pos+1 >= len(p.data) {
			return "", p.errf("unterminated escape")
		}
		e := p.data[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
					return "", p.errf("lone UTF-16 surrogate \\u%04x", r)
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				if r2 < 0xdc00 || r2 > 0xdfff {
					return "", p.errf("lone UTF-16 surrogate \\u%04x", r)
				}
				r = utf16.DecodeRune(r, r2)
			}
			b = utf8.AppendRune(b, r)
		default:
			p.pos -= 2
			return "", p.errf("invalid escape '\\%c'", e)
		}
	}
}

func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, p.errf("truncated \\u escape")
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.errf("invalid \\u escape")
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, nil
}

// number decodes an RFC 8259 number as a float64.
func (p *parser) number() (any, error) {
	start := p.pos
	i := p.pos
	if i < len(p.data) && p.data[i] == '-' {
		i++
	}
	switch {
	case i < len(p.data) && p.data[i] == '0':
		i++
	case i < len(p.data) && p.data[i] >= '1' && p.data[i] <= '9':
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return nil, p.errf("invalid number")
	}
	if i < len(p.data) && p.data[i] == '.' {
		i++
		d := i
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return nil, p.errf("invalid number: no digit after '.'")
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		d := i
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return nil, p.errf("invalid number: no digit in the exponent")
		}
	}
	if i-start > 64 {
		return nil, p.limitf("number longer than 64 characters")
	}
	f, err := strconv.ParseFloat(string(p.data[start:i]), 64)
	if err != nil {
		return nil, p.errf("number %s out of range", p.data[start:i])
	}
	p.pos = i
	return f, nil
}
