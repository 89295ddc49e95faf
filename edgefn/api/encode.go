package api

import (
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// The evaluation answers are written by hand (they are the hot path, and
// their shape is fixed) with the bundle's JSON writer, ir.AppendJSON*:
// byte for byte what encoding/json writes without HTML escaping, objects
// included, without reflection.

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return ir.AppendJSONString(b, s) }

// appendValue appends a decoded JSON value ("null" for what JSON cannot
// hold, which a verified bundle never has).
func appendValue(b []byte, v any) []byte {
	out, ok := ir.AppendJSONValue(b, v)
	if !ok {
		return append(b, "null"...)
	}
	return out
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
