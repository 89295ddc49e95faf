package main

import (
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// The module writes its results with ir's JSON writer instead of
// encoding/json (reflection, megabytes of module, weak under TinyGo): byte
// for byte what encoding/json writes without HTML escaping, which is what
// `edgeflag eval` prints.

// appendResult appends r as the JSON object `edgeflag eval` prints for it:
// key, value, variant, reason, errorCode (when set), ruleId (when set),
// version — in that order.
func appendResult(dst []byte, r *eval.Result) ([]byte, bool) {
	dst = append(dst, `{"key":`...)
	dst = ir.AppendJSONString(dst, r.Key)
	dst = append(dst, `,"value":`...)
	var ok bool
	if dst, ok = ir.AppendJSONValue(dst, r.Value); !ok {
		return dst, false
	}
	dst = append(dst, `,"variant":`...)
	dst = ir.AppendJSONString(dst, r.Variant)
	dst = append(dst, `,"reason":`...)
	dst = ir.AppendJSONString(dst, string(r.Reason))
	if r.ErrorCode != "" {
		dst = append(dst, `,"errorCode":`...)
		dst = ir.AppendJSONString(dst, string(r.ErrorCode))
	}
	if r.RuleID != "" {
		dst = append(dst, `,"ruleId":`...)
		dst = ir.AppendJSONString(dst, r.RuleID)
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendUint(dst, r.Version, 10)
	return append(dst, '}'), true
}

// appendError appends the error object of a failed call:
// {"error":NAME,"message":TEXT}.
func appendError(dst []byte, name, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = ir.AppendJSONString(dst, name)
	dst = append(dst, `,"message":`...)
	dst = ir.AppendJSONString(dst, msg)
	return append(dst, '}')
}
