package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// typeOf is the flag type a default value asks for (0: no default).
func typeOf(v any) ir.FlagType {
	switch v.(type) {
	case bool:
		return ir.TypeBoolean
	case string:
		return ir.TypeString
	case float64:
		return ir.TypeNumber
	case map[string]any, []any:
		return ir.TypeObject
	}
	return 0
}

// evaluate serves POST /v1/evaluate: a batch of evaluations, each with
// its own context and default value; errors answer the default value.
func (h *Handler) evaluate(w http.ResponseWriter, r *http.Request, c *call) {
	body, e := readBody(r)
	if e != nil {
		h.fail(w, c, e)
		return
	}
	req, e := decodeEvaluate(body)
	if e != nil {
		h.fail(w, c, e)
		return
	}
	if req.environment != "" && req.environment != h.env {
		h.fail(w, c, badRequest("wrong_environment", fmt.Sprintf("environment %q is not served here: this edgefn serves %s/%s", truncate(req.environment, 128), h.project, h.env)))
		return
	}
	v := h.viewOf(c)
	out := make([]byte, 0, 64+len(req.items)*128)
	out = append(out, `{"environment":`...)
	out = appendString(out, h.env)
	out = append(out, `,"version":`...)
	out = strconv.AppendUint(out, v.version, 10)
	out = append(out, `,"results":[`...)
	for i, it := range req.items {
		if i > 0 {
			out = append(out, ',')
		}
		var res eval.Result
		ctx := v.context(it.context)
		switch {
		case !v.has(it.flagKey):
			res = eval.Result{Key: it.flagKey, Reason: eval.ReasonError, ErrorCode: eval.CodeFlagNotFound, Version: v.version}
		case it.hasDefault && typeOf(it.def) != 0:
			res = v.b.Engine.EvaluateType(it.flagKey, typeOf(it.def), ctx, c.now)
		default:
			res = v.b.Engine.Evaluate(it.flagKey, ctx, c.now)
		}
		if res.Reason == eval.ReasonError {
			h.cfg.Metrics.Evaluation("", "", string(res.Reason))
		} else {
			h.cfg.Metrics.Evaluation(res.Key, res.Variant, string(res.Reason))
			h.expose(r, c, RouteEvaluate, ctx, v.version, []eval.Result{res}, nil)
		}
		out = appendEvalResult(out, &res, it, req.includeReasons)
	}
	out = append(out, "]}\n"...)
	writeBody(w, http.StatusOK, "application/json", out)
}

// appendEvalResult appends one /v1/evaluate result: flagKey, value (the
// default on errors), variant, errorCode and errorMessage on errors, and
// with includeReasons reason, ruleId and metadata.
func appendEvalResult(b []byte, r *eval.Result, it evalItem, reasons bool) []byte {
	b = append(b, `{"flagKey":`...)
	b = appendString(b, it.flagKey)
	b = append(b, `,"value":`...)
	if r.Reason == eval.ReasonError {
		b = appendValue(b, it.def)
	} else {
		b = appendValue(b, r.Value)
		b = append(b, `,"variant":`...)
		b = appendString(b, r.Variant)
	}
	if r.ErrorCode != eval.CodeNone {
		b = append(b, `,"errorCode":`...)
		b = appendString(b, string(r.ErrorCode))
		b = append(b, `,"errorMessage":`...)
		b = appendString(b, errorMessage(r, it))
	}
	if reasons {
		b = append(b, `,"reason":`...)
		b = appendString(b, string(r.Reason))
		if r.RuleID != "" {
			b = append(b, `,"ruleId":`...)
			b = appendString(b, r.RuleID)
		}
		if r.Reason != eval.ReasonError {
			b = append(b, `,"metadata":`...)
			b = appendMetadata(b, r)
		}
	}
	return append(b, '}')
}

func errorMessage(r *eval.Result, it evalItem) string {
	switch r.ErrorCode {
	case eval.CodeFlagNotFound:
		return fmt.Sprintf("flag %q was not found", it.flagKey)
	case eval.CodeTypeMismatch:
		return fmt.Sprintf("flag %q is not of the default value's type (%s)", it.flagKey, typeOf(it.def))
	case eval.CodeTargetingKeyMissing:
		return "the flag splits traffic but the context has no value to bucket on; served the default variant"
	}
	return string(r.ErrorCode)
}
