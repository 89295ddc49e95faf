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
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/internal/jsonscan"
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

// scanErr is an error of the scanner as an *Error.
func scanErr(err error) error {
	// The scanner returns its *Error unwrapped.
	if e, ok := err.(*jsonscan.Error); ok {
		return &Error{Offset: e.Offset, Msg: e.Msg, Limit: e.Limit}
	}
	return err
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

func (p *parser) skipSpace() { p.pos = jsonscan.Space(p.data, p.pos) }

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
	end, err := jsonscan.Literal(p.data, p.pos, word)
	if err != nil {
		return scanErr(err)
	}
	p.pos = end
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

// str decodes the string starting at pos (a '"'). The input is valid
// UTF-8 (Parse checks it once), so the scanner need not check it again.
func (p *parser) str() (string, error) {
	if end := jsonscan.Plain(p.data, p.pos); end > 0 && end-p.pos-2 <= p.lim.MaxString {
		s := string(p.data[p.pos+1 : end-1])
		p.pos = end
		return s, nil
	}
	// Escapes, and every error: the scanner's whole path.
	end, out, err := jsonscan.String(p.data, p.pos, p.buf, 0, p.lim.MaxString)
	if err != nil {
		return "", scanErr(err)
	}
	s := p.data[p.pos+1 : end-1]
	if out != nil {
		p.buf, s = out, out
	}
	p.pos = end
	return string(s), nil
}

// number decodes an RFC 8259 number as a float64.
func (p *parser) number() (any, error) {
	start := p.pos
	i, err := jsonscan.Number(p.data, start)
	if err != nil {
		return nil, scanErr(err)
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
