package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/reqjson"
)

// readBody returns a request's JSON body: Content-Type application/json
// (parameters allowed), at most MaxBody bytes.
func readBody(r *http.Request) ([]byte, *apiError) {
	ct := r.Header.Get("Content-Type")
	if ct != "application/json" { // the common case needs no parse
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
				msg: fmt.Sprintf("Content-Type must be application/json, got %q", truncate(ct, 100))}
		}
	}
	if r.ContentLength > MaxBody {
		return nil, tooLarge()
	}
	if r.ContentLength >= 0 && r.ContentLength < 64<<10 {
		// A declared length: one exact read (net/http ends the body there,
		// and a shorter one is an error).
		data := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, data); err != nil {
			return nil, badRequest("bad_request", "read request body: "+err.Error())
		}
		return data, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, badRequest("bad_request", "read request body: "+err.Error())
	}
	return data, nil
}

func tooLarge() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("request body larger than %d bytes", MaxBody)}
}

// Context limits: one evaluation context holds at most maxContextValues
// members and elements, nested at most maxContextDepth levels.
const (
	maxContextValues = reqjson.DefaultMaxValues
	maxContextDepth  = reqjson.DefaultMaxDepth - 2
)

// batchLimits bound a whole /v1/evaluate body, which holds up to MaxBatch
// contexts; each context is then held to the context limits.
var batchLimits = reqjson.Limits{MaxDepth: reqjson.DefaultMaxDepth + 4, MaxValues: 200_000}

// parseObject parses body as one JSON object under the request limits.
func parseObject(body []byte) (map[string]any, *apiError) {
	return parseObjectLimits(body, reqjson.Limits{})
}

func parseObjectLimits(body []byte, lim reqjson.Limits) (map[string]any, *apiError) {
	v, err := reqjson.Parse(body, lim)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_json", ofrep: codeParseError, msg: "request body: " + err.Error()}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_json", ofrep: codeParseError, msg: "request body must be a JSON object"}
	}
	return m, nil
}

// onlyFields rejects members of m outside allowed.
func onlyFields(m map[string]any, where string, allowed ...string) *apiError {
	var bad []string
	for k := range m {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return &apiError{status: http.StatusBadRequest, code: "unknown_field", ofrep: codeParseError,
		msg: fmt.Sprintf("%s: unknown field %q (allowed: %s)", where, truncate(bad[0], 64), strings.Join(allowed, ", "))}
}

// contextOf checks an evaluation context value: absent or an object whose
// targetingKey, if any, is a string.
func contextOf(v any, present bool, where string) (map[string]any, *apiError) {
	if !present || v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_context", ofrep: codeInvalidContext, msg: where + " must be a JSON object"}
	}
	if n, d := measure(m, 1); n > maxContextValues || d > maxContextDepth {
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_context", ofrep: codeInvalidContext,
			msg: fmt.Sprintf("%s holds %d members and elements nested %d deep; the limits are %d and %d", where, n, d, maxContextValues, maxContextDepth)}
	}
	if tk, ok := m["targetingKey"]; ok {
		if _, isStr := tk.(string); !isStr {
			return nil, &apiError{status: http.StatusBadRequest, code: "invalid_context", ofrep: codeInvalidContext, msg: where + ".targetingKey must be a string"}
		}
	}
	return m, nil
}

// measure counts the members and elements under v and its nesting depth.
func measure(v any, depth int) (n, deepest int) {
	deepest = depth
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			c, d := measure(e, depth+1)
			n += 1 + c
			deepest = max(deepest, d)
		}
	case []any:
		for _, e := range x {
			c, d := measure(e, depth+1)
			n += 1 + c
			deepest = max(deepest, d)
		}
	default:
		deepest = depth - 1
	}
	return n, deepest
}

// decodeOFREP decodes an OFREP evaluation request: {"context": {...}}.
func decodeOFREP(body []byte) (map[string]any, *apiError) {
	m, e := parseObject(body)
	if e != nil {
		return nil, e
	}
	if e := onlyFields(m, "request", "context"); e != nil {
		return nil, e
	}
	v, ok := m["context"]
	return contextOf(v, ok, "context")
}

// checkFlagKey bounds a flag key from a request.
func checkFlagKey(k, where string) *apiError {
	switch {
	case k == "":
		return &apiError{status: http.StatusBadRequest, code: "invalid_flag_key", msg: where + " is empty"}
	case len(k) > MaxFlagKey:
		return &apiError{status: http.StatusBadRequest, code: "invalid_flag_key", msg: fmt.Sprintf("%s is longer than %d bytes", where, MaxFlagKey)}
	case !utf8.ValidString(k):
		return &apiError{status: http.StatusBadRequest, code: "invalid_flag_key", msg: where + " is not valid UTF-8"}
	}
	return nil
}

// evalRequest is a decoded POST /v1/evaluate body.
type evalRequest struct {
	environment    string
	items          []evalItem
	includeReasons bool
}

type evalItem struct {
	flagKey    string
	def        any
	hasDefault bool
	context    map[string]any
}

// decodeEvaluate decodes {environment?, requests: [{flagKey,
// defaultValue?, context?}], options?: {includeReasons?}}.
func decodeEvaluate(body []byte) (*evalRequest, *apiError) {
	m, e := parseObjectLimits(body, batchLimits)
	if e != nil {
		return nil, e
	}
	if e := onlyFields(m, "request", "environment", "requests", "options"); e != nil {
		return nil, e
	}
	out := &evalRequest{}
	if v, ok := m["environment"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return nil, badRequest("invalid_field", "environment must be a string")
		}
		out.environment = s
	}
	if v, ok := m["options"]; ok {
		o, isObj := v.(map[string]any)
		if !isObj {
			return nil, badRequest("invalid_field", "options must be an object")
		}
		if e := onlyFields(o, "options", "includeReasons"); e != nil {
			return nil, e
		}
		if ir, ok := o["includeReasons"]; ok {
			b, isBool := ir.(bool)
			if !isBool {
				return nil, badRequest("invalid_field", "options.includeReasons must be a boolean")
			}
			out.includeReasons = b
		}
	}
	reqs, ok := m["requests"].([]any)
	if !ok {
		return nil, badRequest("invalid_field", "requests must be an array of {flagKey, defaultValue, context}")
	}
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, badRequest("invalid_field", fmt.Sprintf("requests must hold 1 to %d entries, not %d", MaxBatch, len(reqs)))
	}
	for i, rv := range reqs {
		where := fmt.Sprintf("requests[%d]", i)
		r, isObj := rv.(map[string]any)
		if !isObj {
			return nil, badRequest("invalid_field", where+" must be an object")
		}
		if e := onlyFields(r, where, "flagKey", "defaultValue", "context"); e != nil {
			return nil, e
		}
		k, isStr := r["flagKey"].(string)
		if !isStr {
			return nil, badRequest("invalid_field", where+".flagKey must be a string")
		}
		if e := checkFlagKey(k, where+".flagKey"); e != nil {
			return nil, e
		}
		cv, has := r["context"]
		ctx, e := contextOf(cv, has, where+".context")
		if e != nil {
			return nil, e
		}
		d, hasDef := r["defaultValue"]
		out.items = append(out.items, evalItem{flagKey: k, def: d, hasDefault: hasDef && d != nil, context: ctx})
	}
	return out, nil
}

// Token request limits.
const (
	maxSubject    = 256
	maxAttributes = 64
	maxGrant      = 1000
)

// decodeTokens decodes {subject, flags?, attributes?, scopes, ttlSeconds?}.
func decodeTokens(body []byte) (*auth.TokenRequest, *apiError) {
	m, e := parseObject(body)
	if e != nil {
		return nil, e
	}
	if e := onlyFields(m, "request", "subject", "flags", "attributes", "scopes", "ttlSeconds"); e != nil {
		return nil, e
	}
	out := &auth.TokenRequest{}
	sub, ok := m["subject"].(string)
	if !ok || sub == "" || len(sub) > maxSubject {
		return nil, badRequest("invalid_field", fmt.Sprintf("subject must be a non-empty string of at most %d bytes (the targeting key)", maxSubject))
	}
	out.Subject = sub
	if v, ok := m["flags"]; ok {
		list, isList := v.([]any)
		if !isList || len(list) > maxGrant {
			return nil, badRequest("invalid_field", fmt.Sprintf("flags must be an array of at most %d flag keys (omit it to grant every client-side flag)", maxGrant))
		}
		out.Flags = make([]string, 0, len(list))
		for i, f := range list {
			k, isStr := f.(string)
			if !isStr {
				return nil, badRequest("invalid_field", fmt.Sprintf("flags[%d] must be a string", i))
			}
			if e := checkFlagKey(k, fmt.Sprintf("flags[%d]", i)); e != nil {
				return nil, e
			}
			out.Flags = append(out.Flags, k)
		}
	}
	if v, ok := m["attributes"]; ok {
		a, isObj := v.(map[string]any)
		if !isObj || len(a) > maxAttributes {
			return nil, badRequest("invalid_field", fmt.Sprintf("attributes must be an object of at most %d members", maxAttributes))
		}
		if _, tk := a["targetingKey"]; tk {
			return nil, badRequest("invalid_field", "attributes.targetingKey is not allowed: the subject is the targeting key")
		}
		out.Attributes = a
	}
	scopes, ok := m["scopes"].([]any)
	if !ok || len(scopes) == 0 {
		return nil, badRequest("invalid_field", "scopes must be a non-empty array of "+strings.Join(auth.TokenScopes, ", "))
	}
	seen := map[string]bool{}
	for i, sv := range scopes {
		s, isStr := sv.(string)
		known := false
		for _, k := range auth.TokenScopes {
			known = known || s == k
		}
		if !isStr || !known {
			return nil, badRequest("invalid_field", fmt.Sprintf("scopes[%d] must be one of %s", i, strings.Join(auth.TokenScopes, ", ")))
		}
		if !seen[s] {
			out.Scopes = append(out.Scopes, s)
			seen[s] = true
		}
	}
	if v, ok := m["ttlSeconds"]; ok {
		f, isNum := v.(float64)
		if !isNum || f != float64(int64(f)) || f < 1 || f > auth.MaxTokenTTL.Seconds() {
			return nil, badRequest("invalid_field", fmt.Sprintf("ttlSeconds must be an integer from 1 to %d", int(auth.MaxTokenTTL.Seconds())))
		}
		out.TTL = time.Duration(f) * time.Second
	}
	return out, nil
}
