package client

import (
	"math"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// CodeProviderNotReady is Result.ErrorCode when no usable bundle is
// served (OpenFeature's PROVIDER_NOT_READY): the caller's default applies.
const CodeProviderNotReady = "PROVIDER_NOT_READY"

// Result is one evaluation: the engine's result (the same fields and
// values as `edgeflag eval` and edgefn's answers) and what was served.
type Result struct {
	// Key is the flag key.
	Key string
	// Value is the variant's value: bool, string, float64,
	// map[string]any or []any (a copy the caller may change). Nil on
	// errors (reason ERROR).
	Value any
	// Variant is the served variant's name.
	Variant string
	// Reason is STATIC, DEFAULT, TARGETING_MATCH, SPLIT, DISABLED or
	// ERROR.
	Reason string
	// ErrorCode is set on errors (FLAG_NOT_FOUND, TYPE_MISMATCH,
	// PROVIDER_NOT_READY, …) and on TARGETING_KEY_MISSING fallbacks.
	ErrorCode string
	// RuleID is the matching rule's id, or "".
	RuleID string
	// Version is the bundle version (0 without a bundle).
	Version uint64
	// Metadata is the flag's metadata (description, owner, …).
	Metadata []ir.Meta
	// Serving is what the client served: ServingFresh,
	// ServingLastKnownGood or ServingDefaults.
	Serving string
}

// engine returns the bundle to evaluate with at now and the serving mode,
// or nil when defaults are served. No lock: one atomic load each.
func (c *Client) engine(now time.Time) (*loaded, string) {
	l := c.cur.Load()
	s := c.serving(l, now)
	if s == ServingDefaults {
		return nil, s
	}
	return l, s
}

// Evaluate evaluates flag key for the evaluation context ctx (OpenFeature
// style: "targetingKey" is the targeting key; any Go number is a number)
// at the current time.
func (c *Client) Evaluate(key string, ctx map[string]any) Result {
	now := c.cfg.Now()
	l, serving := c.engine(now)
	if l == nil {
		return notReady(key)
	}
	return result(l.engine.Evaluate(key, eval.Context(ctx), now), serving)
}

// EvaluateAll evaluates every flag of the bundle for ctx, in key order;
// nil when defaults are served.
func (c *Client) EvaluateAll(ctx map[string]any) []Result {
	now := c.cfg.Now()
	l, serving := c.engine(now)
	if l == nil {
		return nil
	}
	rs := l.engine.EvaluateAll(eval.Context(ctx), now, nil)
	out := make([]Result, len(rs))
	for i := range rs {
		out[i] = result(rs[i], serving)
	}
	return out
}

// EvaluateType is Evaluate for a caller expecting type want: a flag of
// another type gives TYPE_MISMATCH.
func (c *Client) EvaluateType(key string, want ir.FlagType, ctx map[string]any) Result {
	now := c.cfg.Now()
	l, serving := c.engine(now)
	if l == nil {
		return notReady(key)
	}
	return result(l.engine.EvaluateType(key, want, eval.Context(ctx), now), serving)
}

func notReady(key string) Result {
	return Result{Key: key, Reason: string(eval.ReasonError), ErrorCode: CodeProviderNotReady, Serving: ServingDefaults}
}

func result(r eval.Result, serving string) Result {
	return Result{Key: r.Key, Value: copyValue(r.Value), Variant: r.Variant, Reason: string(r.Reason), ErrorCode: string(r.ErrorCode),
		RuleID: r.RuleID, Version: r.Version, Metadata: r.Metadata, Serving: serving}
}

// copyValue deep-copies objects and arrays: the engine's values are shared
// by every evaluation and must not be changed by a caller.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}

// BoolValue returns the value of boolean flag key for ctx, or def when
// there is no usable bundle or the evaluation fails (flag not found, not
// a boolean). A disabled flag serves its off variant, as the engine does.
func (c *Client) BoolValue(key string, def bool, ctx map[string]any) bool {
	return valueOr(c, key, ir.TypeBoolean, def, ctx)
}

// StringValue is BoolValue for a string flag.
func (c *Client) StringValue(key, def string, ctx map[string]any) string {
	return valueOr(c, key, ir.TypeString, def, ctx)
}

// NumberValue is BoolValue for a number flag.
func (c *Client) NumberValue(key string, def float64, ctx map[string]any) float64 {
	return valueOr(c, key, ir.TypeNumber, def, ctx)
}

// valueOr evaluates key as typ and returns its value (objects copied), or
// def. It builds no Result: the typed getters are the hot path.
func valueOr[T any](c *Client, key string, typ ir.FlagType, def T, ctx map[string]any) T {
	now := c.cfg.Now()
	l, _ := c.engine(now)
	if l == nil {
		return def
	}
	r := l.engine.EvaluateType(key, typ, eval.Context(ctx), now)
	if typ == ir.TypeObject {
		r.Value = copyValue(r.Value)
	}
	v, ok := r.Value.(T)
	if !ok {
		return def
	}
	return v
}

// IntValue is NumberValue for a number flag whose value is an integer; a
// fractional or out-of-range value gives def.
func (c *Client) IntValue(key string, def int64, ctx map[string]any) int64 {
	v, ok := AsInt(valueOr[any](c, key, ir.TypeNumber, nil, ctx))
	if !ok {
		return def
	}
	return v
}

// ObjectValue is BoolValue for an object flag (a copy the caller may
// change).
func (c *Client) ObjectValue(key string, def any, ctx map[string]any) any {
	return valueOr(c, key, ir.TypeObject, def, ctx)
}

// AsInt converts a number value to int64 when it is an integer in range.
func AsInt(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}
