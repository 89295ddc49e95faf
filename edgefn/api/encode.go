package api

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// The evaluation answers are written by hand: they are the hot path, and
// their shape is fixed.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (escaping as encoding/json does,
// including U+2028/U+2029 and HTML-sensitive characters left as is).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendValue appends a decoded JSON value.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendString(b, x)
	case float64:
		if x == float64(int64(x)) && x > -1e15 && x < 1e15 {
			return strconv.AppendInt(b, int64(x), 10)
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, data...)
}

func appendConst(b []byte, c ir.Const) []byte {
	switch c.Kind {
	case ir.ConstBool:
		return strconv.AppendBool(b, c.Bool)
	case ir.ConstNum:
		return appendValue(b, c.Num)
	case ir.ConstString:
		return appendString(b, c.Str)
	}
	return append(b, "null"...)
}

// appendMetadata appends the OFREP metadata object of a result: the flag's
// metadata, then "ruleId", "version" and (for a fallback) "errorCode".
func appendMetadata(b []byte, r *eval.Result) []byte {
	b = append(b, '{')
	for i, m := range r.Metadata {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.Key)
		b = append(b, ':')
		b = appendConst(b, m.Value)
	}
	sep := len(r.Metadata) > 0
	comma := func() {
		if sep {
			b = append(b, ',')
		}
		sep = true
	}
	if r.RuleID != "" {
		comma()
		b = append(b, `"ruleId":`...)
		b = appendString(b, r.RuleID)
	}
	comma()
	b = append(b, `"version":`...)
	b = strconv.AppendUint(b, r.Version, 10)
	if r.ErrorCode != eval.CodeNone {
		b = append(b, `,"errorCode":`...)
		b = appendString(b, string(r.ErrorCode))
	}
	return append(b, '}')
}

// appendOFREPSuccess appends an OFREP evaluationSuccess for a result that
// has a value.
func appendOFREPSuccess(b []byte, r *eval.Result) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, r.Key)
	b = append(b, `,"value":`...)
	b = appendValue(b, r.Value)
	b = append(b, `,"reason":`...)
	b = appendString(b, string(r.Reason))
	b = append(b, `,"variant":`...)
	b = appendString(b, r.Variant)
	b = append(b, `,"metadata":`...)
	b = appendMetadata(b, r)
	return append(b, '}')
}
