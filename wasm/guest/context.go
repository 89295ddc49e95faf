package main

import (
	"unicode/utf8"
	"unsafe"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// contextDecoder decodes evaluation contexts with as few allocations as it
// can, because allocating is slow in Go compiled to wasm (about 300 ns an
// object under wazero, against 15 ns natively) and a context is decoded
// per call. It keeps one map and one copy of the JSON across calls:
// top-level keys and string values without escapes are slices of the
// copy, and the map is cleared and refilled. Escaped strings and numbers
// go through ir.ParseJSON, the engine's own parser, and a context with a
// nested object or array is decoded by it whole, so the grammar and limits
// are exactly its own (FuzzContextMatchesParseJSON holds the two to the
// same results).
//
// The decoded context is valid until the next decode: its strings alias
// the copy, which the next decode overwrites. The engine keeps nothing of
// a context, and every result is written out before the call returns.
type contextDecoder struct {
	src []byte       // copy of the last JSON decoded; strings alias it
	ctx eval.Context // the last context decoded (nil: none yet)
}

// decode returns the context data encodes. Equal bytes give the same
// context without decoding again.
func (d *contextDecoder) decode(data []byte) (eval.Context, error) {
	if d.ctx != nil && string(data) == string(d.src) {
		return d.ctx, nil
	}
	if d.ctx == nil {
		d.ctx = eval.Context{}
	}
	clear(d.ctx)
	// A new array when it must grow: strings of the previous context may
	// still alias the old one until this decode is done.
	d.src = append(d.src[:0], data...)
	err := d.object()
	if err == errNested {
		// Nested values: the engine's parser decodes the whole context, so
		// nesting limits are exactly its own.
		var v any
		if v, err = ir.ParseJSON(data); err == nil {
			d.ctx = eval.Context(v.(map[string]any)) // object() saw '{'
		}
	}
	if err != nil {
		d.src = d.src[:0]
		d.ctx = nil
		return nil, err
	}
	return d.ctx, nil
}

// errNested stops the fast path at a nested object or array.
var errNested = &contextError{msg: "nested value"}

// object decodes the top-level object of d.src into d.ctx.
func (d *contextDecoder) object() error {
	s := d.src
	i := skipWS(s, 0)
	if len(s) == 0 || i == len(s) {
		if len(s) == 0 {
			return nil // no bytes: the empty context
		}
		return errf("unexpected end", i)
	}
	if s[i] != '{' {
		return errf("not a JSON object", i)
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return d.end(i + 1)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return errf("expected object key", i)
		}
		key, next, err := d.str(i)
		if err != nil {
			return err
		}
		i = skipWS(s, next)
		if i >= len(s) || s[i] != ':' {
			return errf("expected ':'", i)
		}
		i = skipWS(s, i+1)
		if i >= len(s) {
			return errf("unexpected end", i)
		}
		var v any
		switch c := s[i]; {
		case c == '"':
			var str string
			if str, next, err = d.str(i); err != nil {
				return err
			}
			v = str
		case c == 't' && hasPrefix(s[i:], "true"):
			v, next = true, i+4
		case c == 'f' && hasPrefix(s[i:], "false"):
			v, next = false, i+5
		case c == 'n' && hasPrefix(s[i:], "null"):
			v, next = nil, i+4
		case c == '{' || c == '[':
			return errNested
		default: // numbers (and errors): the engine's parser
			next = skipValue(s, i)
			if v, err = ir.ParseJSON(s[i:next]); err != nil {
				return errf(err.Error(), i)
			}
		}
		d.ctx[key] = v
		i = skipWS(s, next)
		if i >= len(s) {
			return errf("unexpected end", i)
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
			continue
		case '}':
			return d.end(i + 1)
		}
		return errf("expected ',' or '}'", i)
	}
}

// end checks that nothing but whitespace follows the object.
func (d *contextDecoder) end(i int) error {
	if i = skipWS(d.src, i); i != len(d.src) {
		return errf("trailing data", i)
	}
	return nil
}

// str reads the string starting at d.src[i] and returns it and the index
// after it. Without escapes it is a slice of d.src (no allocation);
// with escapes ir.ParseJSON unescapes it.
func (d *contextDecoder) str(i int) (string, int, error) {
	s := d.src
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			raw := s[i+1 : j]
			if !utf8.Valid(raw) {
				return "", 0, errf("invalid UTF-8 in string", i)
			}
			return unsafe.String(unsafe.SliceData(raw), len(raw)), j + 1, nil
		case c == '\\':
			end := skipString(s, i)
			v, err := ir.ParseJSON(s[i:end])
			if err != nil {
				return "", 0, errf(err.Error(), i)
			}
			str, _ := v.(string)
			return str, end, nil
		case c < 0x20:
			return "", 0, errf("control character in string", j)
		}
	}
	return "", 0, errf("unterminated string", i)
}

func hasPrefix(s []byte, p string) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }

// contextError is a context that does not decode.
type contextError struct{ msg string }

func (e *contextError) Error() string { return e.msg }

func errf(what string, at int) error {
	return &contextError{msg: "JSON: " + what + " (context offset " + itoa(at) + ")"}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
