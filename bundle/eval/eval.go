// Package eval is edgeflag's deterministic flag evaluator. It loads a
// validated ir.Bundle once, prepares an executable form (pre-split
// attribute paths, compiled regexes, parsed semver/timestamp constants,
// fused operators, pre-boxed variant values), and evaluates flags against an
// OpenFeature-style context at a caller-supplied time.
//
// The package is pure Go: no IO, no clock, no reflection-based encoding, no
// package state. An Engine is immutable after Load and safe for concurrent
// use. Semantics: docs/expressions.md and docs/bucketing.md.
package eval

import (
	"regexp"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Context is an OpenFeature evaluation context as decoded from JSON;
// "targetingKey" is the targeting key. Any Go numeric type is a number.
type Context map[string]any

// Reason says why a result has its value (OpenFeature reasons).
type Reason string

// Reasons.
const (
	ReasonStatic         Reason = "STATIC"
	ReasonDefault        Reason = "DEFAULT"
	ReasonTargetingMatch Reason = "TARGETING_MATCH"
	ReasonSplit          Reason = "SPLIT"
	ReasonDisabled       Reason = "DISABLED"
	ReasonError          Reason = "ERROR"
)

// ErrorCode is an OpenFeature error code; CodeNone when there is no error.
type ErrorCode string

// Error codes.
const (
	CodeNone                ErrorCode = ""
	CodeFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	CodeTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	CodeTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	CodeInvalidContext      ErrorCode = "INVALID_CONTEXT"
	CodeParseError          ErrorCode = "PARSE_ERROR"
	CodeGeneral             ErrorCode = "GENERAL"
)

// Result is one flag evaluation.
type Result struct {
	// Key is the flag key.
	Key string
	// Value is the variant's decoded JSON value: bool, string, float64,
	// map[string]any or []any. Shared between results: read only. Nil on
	// errors with reason ERROR.
	Value any
	// Variant is the served variant's name.
	Variant string
	// Reason says why.
	Reason Reason
	// ErrorCode is set on errors (and TARGETING_KEY_MISSING fallbacks).
	ErrorCode ErrorCode
	// RuleID is the matching rule's ID, or "".
	RuleID string
	// Version is the bundle version the engine was loaded with.
	Version uint64
	// Metadata is the flag's metadata (shared: read only).
	Metadata []ir.Meta
}

// Engine evaluates the flags of one loaded bundle. It is immutable and safe
// for concurrent use.
type Engine struct {
	version  uint64
	project  string
	env      string
	audience ir.Audience

	attrs []attrPath
	nodes []pnode
	args  []int32
	segs  []pseg
	flags []pflag
	arms  []arm // split arms of all serves
	// Chunked arenas of the flags' variant tables and metadata (span).
	varChunks  [][]pvar
	metaChunks [][]ir.Meta
	index      keyIndex
	keys       []string

	// Side tables of wide node operands (see pnode).
	wide []val                 // OpConst operands that are not plain scalars
	strs []string              // fInSet: sorted runs of constant strings
	sets []map[string]struct{} // fInMap
	res  []*regexp.Regexp      // OpMatches, fMatch
}

// maxDepth bounds nested variant()/inSegment() evaluation (Validate already
// rejects cycles; this is defense in depth).
const maxDepth = 32

// state is the per-evaluation state; it lives on the caller's stack.
type state struct {
	ctx   Context
	now   time.Time
	slots []val // attribute cache for EvaluateAll; nil for one flag
	depth int
}

// Evaluate evaluates flag key for ctx at time now.
func (e *Engine) Evaluate(key string, ctx Context, now time.Time) Result {
	fi := e.index.find(key, e.keys)
	if fi < 0 {
		return Result{Key: key, Reason: ReasonError, ErrorCode: CodeFlagNotFound, Version: e.version}
	}
	st := state{ctx: ctx, now: now}
	f := &e.flags[fi]
	// run's rule loop, written out so that the common outcome (a rule
	// with a fixed variant) costs no call to run.
	i := len(f.rules)
	if f.enabled {
		for j := range f.rules {
			r := &f.rules[j]
			if e.cond(r.when, &st) != tru {
				continue
			}
			if r.serve.narm == 0 {
				x := e.variant(f, r.serve.variant)
				return Result{Key: e.keys[fi], Value: x.value, Variant: x.name, Reason: ReasonTargetingMatch,
					RuleID: r.id, Version: e.version, Metadata: e.metadata(f)}
			}
			i = j
			break
		}
	}
	v, reason, code, rule := e.settle(f, i, &st)
	x := e.variant(f, v)
	return Result{Key: e.keys[fi], Value: x.value, Variant: x.name, Reason: reason,
		ErrorCode: code, RuleID: rule, Version: e.version, Metadata: e.metadata(f)}
}

// EvaluateType is Evaluate for a caller expecting type want: a flag of
// another type yields TYPE_MISMATCH with reason ERROR and a nil Value (the
// caller substitutes its default).
func (e *Engine) EvaluateType(key string, want ir.FlagType, ctx Context, now time.Time) Result {
	fi := e.index.find(key, e.keys)
	if fi < 0 {
		return Result{Key: key, Reason: ReasonError, ErrorCode: CodeFlagNotFound, Version: e.version}
	}
	if f := &e.flags[fi]; f.typ != want {
		return Result{Key: e.keys[fi], Reason: ReasonError, ErrorCode: CodeTypeMismatch, Version: e.version, Metadata: e.metadata(f)}
	}
	st := state{ctx: ctx, now: now}
	f := &e.flags[fi]
	v, reason, code, rule := e.run(f, &st)
	x := e.variant(f, v)
	return Result{Key: e.keys[fi], Value: x.value, Variant: x.name, Reason: reason,
		ErrorCode: code, RuleID: rule, Version: e.version, Metadata: e.metadata(f)}
}

// EvaluateAll evaluates every flag in key order, appending to out. The
// context's attributes are looked up at most once per call.
func (e *Engine) EvaluateAll(ctx Context, now time.Time, out []Result) []Result {
	st := state{ctx: ctx, now: now, slots: make([]val, len(e.attrs))}
	out = growResults(out, len(e.flags))
	for i := range e.flags {
		out = append(out, Result{})
		e.fill(&out[len(out)-1], int32(i), &st)
	}
	return out
}

func growResults(out []Result, n int) []Result {
	if cap(out)-len(out) >= n {
		return out
	}
	o := make([]Result, len(out), len(out)+n)
	copy(o, out)
	return o
}

// FlagType returns the declared type of flag key, and false when the
// engine has no such flag.
func (e *Engine) FlagType(key string) (ir.FlagType, bool) {
	fi := e.index.find(key, e.keys)
	if fi < 0 {
		return 0, false
	}
	return e.flags[fi].typ, true
}

// Keys returns the flag keys in sorted order (a fresh slice).
func (e *Engine) Keys() []string { return append([]string(nil), e.keys...) }

// Version returns the bundle version given to Load.
func (e *Engine) Version() uint64 { return e.version }

// Project returns the bundle's project.
func (e *Engine) Project() string { return e.project }

// Environment returns the bundle's environment.
func (e *Engine) Environment() string { return e.env }

// Audience returns the bundle's audience.
func (e *Engine) Audience() ir.Audience { return e.audience }

// variant returns variant v of flag f.
func (e *Engine) variant(f *pflag, v int32) *pvar {
	return &e.varChunks[f.vars.c][int32(f.vars.offn&spanOff)+v]
}

// metadata returns flag f's metadata (nil when it has none).
func (e *Engine) metadata(f *pflag) []ir.Meta {
	if f.meta.offn == 0 {
		return nil
	}
	off, n := f.meta.offn&spanOff, f.meta.offn>>spanBits
	return e.metaChunks[f.meta.c][off : off+n : off+n]
}

// fill evaluates flag fi into *r.
func (e *Engine) fill(r *Result, fi int32, st *state) {
	f := &e.flags[fi]
	v, reason, code, rule := e.run(f, st)
	x := e.variant(f, v)
	r.Key = e.keys[fi]
	r.Value = x.value
	r.Variant = x.name
	r.Reason = reason
	r.ErrorCode = code
	r.RuleID = rule
	r.Version = e.version
	r.Metadata = e.metadata(f)
}

// run evaluates a flag to its variant index.
func (e *Engine) run(f *pflag, st *state) (int32, Reason, ErrorCode, string) {
	i := len(f.rules)
	if f.enabled {
		for j := range f.rules {
			r := &f.rules[j]
			if e.cond(r.when, st) != tru {
				continue
			}
			if r.serve.narm == 0 {
				return r.serve.variant, ReasonTargetingMatch, CodeNone, r.id
			}
			i = j
			break
		}
	}
	return e.settle(f, i, st)
}

// settle finishes run once the rules are decided: rule i matched and
// serves a split, or (i == len(f.rules)) no rule matched. A disabled flag
// serves its off variant.
func (e *Engine) settle(f *pflag, i int, st *state) (int32, Reason, ErrorCode, string) {
	if !f.enabled {
		return f.offVariant, ReasonDisabled, CodeNone, ""
	}
	if i < len(f.rules) {
		r := &f.rules[i]
		if v, ok := e.split(f, &r.serve, st); ok {
			return v, ReasonSplit, CodeNone, r.id
		}
		return f.fallbackVariant, ReasonDefault, CodeTargetingKeyMissing, r.id
	}
	if f.noMatch.narm == 0 {
		if len(f.rules) == 0 {
			return f.noMatch.variant, ReasonStatic, CodeNone, ""
		}
		return f.noMatch.variant, ReasonDefault, CodeNone, ""
	}
	if v, ok := e.split(f, &f.noMatch, st); ok {
		return v, ReasonSplit, CodeNone, ""
	}
	return f.fallbackVariant, ReasonDefault, CodeTargetingKeyMissing, ""
}

// split picks the arm for the context's bucketing unit.
func (e *Engine) split(f *pflag, s *pserve, st *state) (int32, bool) {
	k, str, num, _ := e.scalar(s.bucketBy, st)
	bucket, ok := f.hash.unitBucket(k, str, num)
	if !ok {
		return 0, false
	}
	arms := e.arms[s.arm0 : s.arm0+s.narm]
	x := uint64(bucket) * (arms[len(arms)-1].cum / buckets) // total weight
	for i := range arms {
		if x < arms[i].cum {
			return arms[i].variant, true
		}
	}
	return arms[len(arms)-1].variant, true
}

// attr returns the value of attribute i: its slot in the per-call cache
// when there is one, otherwise tmp, filled in.
func (e *Engine) attr(i int32, st *state, tmp *val) *val {
	if st.slots != nil {
		p := &st.slots[i]
		if p.k == kUnresolved {
			e.attrs[i].lookup(st.ctx, p)
		}
		return p
	}
	e.attrs[i].lookup(st.ctx, tmp)
	return tmp
}

// scalar returns attribute i's kind and, for strings, numbers and bools,
// its value, in registers: the fused operators' fast path. Other kinds
// report only their kind. cond has its own copy of the flat-lookup
// part (see there).
func (e *Engine) scalar(i int32, st *state) (kind, string, float64, bool) {
	if st.slots == nil {
		v, ok := st.ctx[e.attrs[i].full]
		switch x := v.(type) {
		case string:
			return kStr, x, 0, false
		case float64:
			return kNum, "", x, false
		}
		return e.scalarSlow(i, st, v, ok)
	}
	p := &st.slots[i]
	if p.k == kUnresolved {
		e.attrs[i].lookup(st.ctx, p)
	}
	return p.k, p.s, p.n, p.b
}

// scalarSlow is scalar for a flat lookup that found v (ok) or nothing.
func (e *Engine) scalarSlow(i int32, st *state, v any, ok bool) (kind, string, float64, bool) {
	if !ok {
		a := &e.attrs[i]
		if a.parts == nil {
			return kUnknown, "", 0, false
		}
		var tmp val
		a.nested(st.ctx, &tmp)
		return tmp.k, tmp.s, tmp.n, tmp.b
	}
	switch x := v.(type) {
	case int:
		return kNum, "", float64(x), false
	case bool:
		return kBool, "", 0, x
	}
	tmp := toVal(v)
	return tmp.k, tmp.s, tmp.n, tmp.b
}
