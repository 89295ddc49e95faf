package main

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// ABIVersion is what ef_abi_version returns. It changes only when an
// export's meaning changes incompatibly (docs/wasm-abi.md).
const ABIVersion = 1

// Error names of the module's own error results (the verifier's
// rejections use envelope.ErrorName's names: ErrSignature, ErrExpired, ...).
const (
	errArgument = "ErrArgument" // a pointer/length outside every live block, a bad type code or time
	errContext  = "ErrContext"  // the evaluation context is not a JSON object
	errNoTrust  = "ErrNoTrust"  // ef_open before a successful ef_set_trust
	errNoBundle = "ErrNoBundle" // an evaluation before a successful ef_open
	errInternal = "ErrInternal" // a bug in the module (a value that cannot be written as JSON)
)

// instance is the module's whole state: the host's blocks, the trust, the
// open bundle and the last result. Each method returns the result's length
// (≥ 0, success) or minus the length of an error object (< 0); the bytes
// are in out until the next call.
type instance struct {
	mem      arena
	trust    envelope.Trust
	hasTrust bool
	bundle   *envelope.Bundle
	out      []byte
	results  []eval.Result // EvaluateAll's buffer, reused

	// ctx decodes contexts, remembering the last one: OpenFeature
	// clients evaluate many flags for one context, and decoding is most
	// of an evaluation's cost in the module. The engine never modifies a
	// context.
	ctx contextDecoder

	// enc caches the JSON of EvaluateAll's results per flag (index in key
	// order): a result object is fixed by its flag, variant, reason, error
	// code and rule id, and writing it is most of an evaluation's cost in
	// the module. Reset by every open.
	enc [][]encoded
	// one caches single evaluations' result objects the same way,
	// direct-mapped by flag key (ef_evaluate does not know the flag's
	// index).
	one [64]encoded
}

// encoded is one cached result object of a flag.
type encoded struct {
	key           string // in one only
	variant, rule string
	reason        eval.Reason
	code          eval.ErrorCode
	json          []byte
}

// maxEncodedPerFlag bounds the cache: a flag serves a handful of
// (variant, rule) outcomes; rarer ones are written without caching.
const maxEncodedPerFlag = 8

// appendOne appends the result of a single evaluation, from the cache
// when the same flag had the same outcome last time.
func (in *instance) appendOne(dst []byte, r *eval.Result) ([]byte, bool) {
	if len(r.Key) == 0 {
		return appendResult(dst, r)
	}
	e := &in.one[(len(r.Key)*31+int(r.Key[0])+int(r.Key[len(r.Key)-1])*7)%len(in.one)]
	if e.json != nil && e.key == r.Key && e.variant == r.Variant && e.rule == r.RuleID && e.reason == r.Reason && e.code == r.ErrorCode {
		return append(dst, e.json...), true
	}
	start := len(dst)
	dst, ok := appendResult(dst, r)
	if ok {
		// The key is copied: it may alias the host's input.
		*e = encoded{key: string([]byte(r.Key)), variant: r.Variant, rule: r.RuleID, reason: r.Reason, code: r.ErrorCode,
			json: append(e.json[:0], dst[start:]...)}
	}
	return dst, ok
}

// appendCached appends the result of flag i (EvaluateAll's order), from
// the cache when the same outcome was written before.
func (in *instance) appendCached(dst []byte, i int, r *eval.Result) ([]byte, bool) {
	if i >= len(in.enc) {
		return appendResult(dst, r)
	}
	es := in.enc[i]
	for j := range es {
		e := &es[j]
		if e.variant == r.Variant && e.rule == r.RuleID && e.reason == r.Reason && e.code == r.ErrorCode {
			return append(dst, e.json...), true
		}
	}
	start := len(dst)
	dst, ok := appendResult(dst, r)
	if ok && len(es) < maxEncodedPerFlag {
		in.enc[i] = append(es, encoded{variant: r.Variant, rule: r.RuleID, reason: r.Reason, code: r.ErrorCode,
			json: append([]byte(nil), dst[start:]...)})
	}
	return dst, ok
}

// ok returns the length of the success result in out.
func (in *instance) ok() int32 { return int32(len(in.out)) }

// fail replaces out with an error object and returns minus its length.
func (in *instance) fail(name, msg string) int32 {
	in.out = appendError(in.out[:0], name, msg)
	return -int32(len(in.out))
}

// input resolves a pointer/length pair passed by the host.
func (in *instance) input(p uintptr, n int32) ([]byte, bool) { return in.mem.bytes(p, n) }

// badInput is the error result for a pointer/length pair that input
// refused.
func (in *instance) badInput(what string, p uintptr, n int32) int32 {
	return in.fail(errArgument, what+": "+strconv.FormatUint(uint64(p), 10)+"+"+strconv.FormatInt(int64(n), 10)+
		" is not inside a block from ef_alloc")
}

// setTrust replaces the trust used by later opens. The open bundle, if
// any, stays: it was verified under the trust in force when it was opened.
// Result: {"keys":[kid, ...],"algorithms":[what this module verifies]}.
func (in *instance) setTrust(p uintptr, n int32) int32 {
	doc, ok := in.input(p, n)
	if !ok {
		return in.badInput("trust", p, n)
	}
	t, terr := parseTrust(doc)
	if terr != nil {
		return in.fail(terr.name, terr.msg)
	}
	in.trust, in.hasTrust = t, true
	in.out = append(in.out[:0], `{"keys":[`...)
	for i := range t.Keys {
		if i > 0 {
			in.out = append(in.out, ',')
		}
		in.out = ir.AppendJSONString(in.out, t.Keys[i].ID)
	}
	in.out = append(in.out, `],"algorithms":[`...)
	for i, a := range envelope.SupportedAlgorithms() {
		if i > 0 {
			in.out = append(in.out, ',')
		}
		in.out = ir.AppendJSONString(in.out, a)
	}
	in.out = append(in.out, "]}"...)
	return in.ok()
}

// unixTime checks a time given to an export as seconds and nanoseconds
// since the Unix epoch (0 ≤ nsec < 1e9).
func unixTime(sec int64, nsec int32) (time.Time, bool) {
	if nsec < 0 || nsec >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(sec, int64(nsec)).UTC(), true
}

func (in *instance) badTime(nsec int32) int32 {
	return in.fail(errArgument, "time: nanoseconds "+strconv.FormatInt(int64(nsec), 10)+" outside 0..999999999")
}

// open verifies and loads a bundle at time now. On success it replaces
// the open bundle and raises the trust's last version to the bundle's;
// on failure nothing changes. Result: the verified claims.
func (in *instance) open(p uintptr, n int32, sec int64, nsec int32) int32 {
	data, ok := in.input(p, n)
	if !ok {
		return in.badInput("bundle", p, n)
	}
	now, ok := unixTime(sec, nsec)
	if !ok {
		return in.badTime(nsec)
	}
	if !in.hasTrust {
		return in.fail(errNoTrust, "open bundle: no trust set (call ef_set_trust first)")
	}
	t := in.trust
	t.Now = now
	b, err := envelope.Open(data, t)
	if err != nil {
		name := envelope.ErrorName(err)
		if name == "" {
			name = errInternal
		}
		return in.fail(name, err.Error())
	}
	in.bundle = b
	in.enc = make([][]encoded, len(b.Engine.Keys()))
	in.one = [len(in.one)]encoded{}
	if v := b.Claims.Version; v > in.trust.LastVersion {
		in.trust.LastVersion = v
	}
	in.out = appendClaims(in.out[:0], &b.Claims, len(b.Engine.Keys()))
	return in.ok()
}

// appendClaims writes the result of a successful open.
func appendClaims(dst []byte, c *envelope.Claims, flags int) []byte {
	dst = append(dst, `{"version":`...)
	dst = strconv.AppendUint(dst, c.Version, 10)
	dst = append(dst, `,"project":`...)
	dst = ir.AppendJSONString(dst, c.Project)
	dst = append(dst, `,"environment":`...)
	dst = ir.AppendJSONString(dst, c.Environment)
	dst = append(dst, `,"audience":`...)
	dst = ir.AppendJSONString(dst, c.Audience.String())
	dst = append(dst, `,"algorithm":`...)
	dst = ir.AppendJSONString(dst, c.Algorithm)
	dst = append(dst, `,"keyId":`...)
	dst = ir.AppendJSONString(dst, c.KeyID)
	dst = append(dst, `,"issuedAt":`...)
	dst = strconv.AppendInt(dst, c.IssuedAt.Unix(), 10)
	dst = append(dst, `,"expiresAt":`...)
	dst = strconv.AppendInt(dst, c.ExpiresAt.Unix(), 10)
	dst = append(dst, `,"flags":`...)
	dst = strconv.AppendInt(dst, int64(flags), 10)
	return append(dst, '}')
}

// context decodes an evaluation context: a JSON object (numbers become
// float64, as encoding/json decodes them); no bytes is the empty context.
func (in *instance) context(p uintptr, n int32) (eval.Context, int32, bool) {
	data, ok := in.input(p, n)
	if !ok {
		return nil, in.badInput("context", p, n), false
	}
	ctx, err := in.ctx.decode(data)
	if err != nil {
		return nil, in.fail(errContext, "read context: "+err.Error()), false
	}
	return ctx, 0, true
}

// evaluation checks what every evaluation needs: a time, a context and
// an open bundle. When ok is false, res is the error result.
func (in *instance) evaluation(op string, cp uintptr, cn int32, sec int64, nsec int32) (ctx eval.Context, now time.Time, res int32, ok bool) {
	if now, ok = unixTime(sec, nsec); !ok {
		return nil, now, in.badTime(nsec), false
	}
	if ctx, res, ok = in.context(cp, cn); !ok {
		return nil, now, res, false
	}
	if in.bundle == nil {
		return nil, now, in.fail(errNoBundle, op+": no bundle open (call ef_open first)"), false
	}
	return ctx, now, 0, true
}

// evaluate evaluates one flag. typ 0 calls Evaluate; 1–4 (boolean,
// string, number, object: the ir.FlagType codes) call EvaluateType.
// Result: one result object.
func (in *instance) evaluate(kp uintptr, kn int32, cp uintptr, cn int32, typ int32, sec int64, nsec int32) int32 {
	key, ok := in.input(kp, kn)
	if !ok {
		return in.badInput("flag key", kp, kn)
	}
	if typ < 0 || typ > int32(ir.TypeObject) {
		return in.fail(errArgument, "type: "+strconv.FormatInt(int64(typ), 10)+" is not 0 (any), 1 (boolean), 2 (string), 3 (number) or 4 (object)")
	}
	ctx, now, res, ok := in.evaluation("evaluate", cp, cn, sec, nsec)
	if !ok {
		return res
	}
	// The key is read in place: the engine keeps nothing of it, and the
	// result (which may hold it) is written out before the call returns.
	k := unsafe.String(unsafe.SliceData(key), len(key))
	var r eval.Result
	if typ == 0 {
		r = in.bundle.Engine.Evaluate(k, ctx, now)
	} else {
		r = in.bundle.Engine.EvaluateType(k, ir.FlagType(typ), ctx, now)
	}
	if in.out, ok = in.appendOne(in.out[:0], &r); !ok {
		return in.fail(errInternal, "evaluate: the value of "+strconv.Quote(r.Key)+" cannot be written as JSON")
	}
	return in.ok()
}

// evaluateAll evaluates every flag in key order. Result: a JSON array of
// result objects.
func (in *instance) evaluateAll(cp uintptr, cn int32, sec int64, nsec int32) int32 {
	ctx, now, res, ok := in.evaluation("evaluate all", cp, cn, sec, nsec)
	if !ok {
		return res
	}
	in.results = in.bundle.Engine.EvaluateAll(ctx, now, in.results[:0])
	in.out = append(in.out[:0], '[')
	for i := range in.results {
		if i > 0 {
			in.out = append(in.out, ',')
		}
		if in.out, ok = in.appendCached(in.out, i, &in.results[i]); !ok {
			return in.fail(errInternal, "evaluate all: the value of "+strconv.Quote(in.results[i].Key)+" cannot be written as JSON")
		}
	}
	in.out = append(in.out, ']')
	clear(in.results) // drop references to values and metadata until the next call
	return in.ok()
}
