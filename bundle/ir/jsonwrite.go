package ir

import (
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The one JSON writer, the counterpart of ParseJSON: byte for byte what
// encoding/json.Encoder with SetEscapeHTML(false) writes for the same
// values (what `edgeflag eval` prints), without reflection, so that it runs
// where encoding/json cannot (the wasm guest, TinyGo). Tests hold it to
// encoding/json itself (TestJSONWriterMatchesEncodingJSON,
// FuzzJSONWriterMatchesEncodingJSON).

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way encoding/json does with
// HTML escaping off: `"` and `\` escaped, control characters as \b \f \n
// \r \t or \u00XX, invalid UTF-8 bytes as \ufffd, U+2028 and U+2029 as
// escapes, everything else verbatim.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONNumber appends a finite float64 as encoding/json does (ES6 number
// formatting: plain decimal unless the magnitude is below 1e-6 or at least
// 1e21, exponents without leading zeros). ok is false for NaN and ±Inf,
// which JSON cannot hold.
func AppendJSONNumber(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// maxWriteDepth bounds the nesting AppendJSONValue follows (the engine's
// values are at most 64 deep; see ir.ParseJSON).
const maxWriteDepth = 100

// AppendJSONValue appends a decoded JSON value (nil, bool, string, float64,
// map[string]any with keys sorted bytewise, []any). ok is false for any
// other type, a non-finite number or nesting beyond 100 levels. It writes
// what ParseJSON decodes back to the same value.
func AppendJSONValue(dst []byte, v any) ([]byte, bool) {
	return appendJSONValue(dst, v, 0)
}

func appendJSONValue(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > maxWriteDepth {
		return dst, false
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case bool:
		if x {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case string:
		return AppendJSONString(dst, x), true
	case float64:
		return AppendJSONNumber(dst, x)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendJSONValue(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, k)
			dst = append(dst, ':')
			var ok bool
			if dst, ok = appendJSONValue(dst, x[k], depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	}
	return dst, false
}
