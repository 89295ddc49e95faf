package main

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/jsonscan"
)

// contextDecoder decodes evaluation contexts with as few allocations as it
// can, because allocating is slow in Go compiled to wasm (about 300 ns an
// object under wazero, against 15 ns natively) and a context is decoded
// per call. It keeps one map and one copy of the JSON across calls:
// top-level keys and string values without escapes are slices of the
// copy, and the map is cleared and refilled. Strings and numbers are read
// with internal/jsonscan in the modes of ir.ParseJSON, the engine's own
// parser (which uses it too), and a context with a nested object or array
// is decoded by ir.ParseJSON whole, so the grammar and limits are exactly
// its own (FuzzContextMatchesParseJSON holds the two to the same results).
//
// The decoded context is valid until the next decode: its strings alias
// the copy, which the next decode overwrites. The engine keeps nothing of
// a context, and every result is written out before the call returns.
type contextDecoder struct {
	src []byte       // copy of the last JSON decoded; strings alias it
	ctx eval.Context // the last context decoded (nil: none yet)
	buf []byte       // scratch for unescaping strings
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
	i := jsonscan.Space(s, 0)
	if len(s) == 0 || i == len(s) {
		if len(s) == 0 {
			return nil // no bytes: the empty context
		}
		return errf("unexpected end", i)
	}
	if s[i] != '{' {
		return errf("not a JSON object", i)
	}
	i = jsonscan.Space(s, i+1)
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
		i = jsonscan.Space(s, next)
		if i >= len(s) || s[i] != ':' {
			return errf("expected ':'", i)
		}
		i = jsonscan.Space(s, i+1)
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
		case c == '-' || (c >= '0' && c <= '9'):
			if next, err = jsonscan.Number(s, i); err != nil {
				return scanErr(err)
			}
			// A leading zero ends the number: the digit after it is
			// refused below as ParseJSON refuses it.
			f, perr := strconv.ParseFloat(string(s[i:next]), 64)
			if perr != nil {
				return errf("number out of range", i)
			}
			v = f
		default:
			return errf("unexpected character", i)
		}
		d.ctx[key] = v
		i = jsonscan.Space(s, next)
		if i >= len(s) {
			return errf("unexpected end", i)
		}
		switch s[i] {
		case ',':
			i = jsonscan.Space(s, i+1)
			continue
		case '}':
			return d.end(i + 1)
		}
		return errf("expected ',' or '}'", i)
	}
}

// end checks that nothing but whitespace follows the object.
func (d *contextDecoder) end(i int) error {
	if i = jsonscan.Space(d.src, i); i != len(d.src) {
		return errf("trailing data", i)
	}
	return nil
}

// str reads the string starting at d.src[i] and returns it and the index
// after it. Without escapes it is a slice of d.src (no allocation); with
// escapes, a copy of its unescaped content.
func (d *contextDecoder) str(i int) (string, int, error) {
	if end := jsonscan.Plain(d.src, i); end > 0 && utf8.Valid(d.src[i+1:end-1]) { // inlined: the common case
		raw := d.src[i+1 : end-1]
		return unsafe.String(unsafe.SliceData(raw), len(raw)), end, nil
	}
	// Escapes, and every error: the scanner's whole path.
	end, out, err := jsonscan.String(d.src, i, d.buf, jsonscan.CheckUTF8|jsonscan.ReplaceSurrogates, 0)
	if err != nil {
		return "", 0, scanErr(err)
	}
	if out != nil {
		d.buf = out
		return string(out), end, nil
	}
	raw := d.src[i+1 : end-1]
	return unsafe.String(unsafe.SliceData(raw), len(raw)), end, nil
}

func hasPrefix(s []byte, p string) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }

// contextError is a context that does not decode.
type contextError struct{ msg string }

func (e *contextError) Error() string { return e.msg }

// scanErr is an error of the scanner, worded as errf words one.
func scanErr(err error) error {
	if e, ok := err.(*jsonscan.Error); ok {
		return errf(e.Msg, e.Offset)
	}
	return err
}

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
