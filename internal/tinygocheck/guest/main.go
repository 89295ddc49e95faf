//go:build wasip1

// Command guest is the TinyGo proof module (package tinygocheck): a wasip1
// reactor holding the verifier (bundle/envelope, with its klauspost zstd
// decoder), the IR codec (bundle/ir) and the engine (bundle/eval), with a
// small internal ABI that the test in internal/tinygocheck drives under
// wazero. It is not the product's wasm ABI (that is wasm/); it exists to
// prove, result by result, that these packages build and run under TinyGo
// with -scheduler=none -panic=trap, and it builds with the standard Go
// toolchain too so both can be compared. Build it with the tag
// edgeflag_noes256 for a verifier without ES256.
//
// ABI (all lengths and pointers are u32 into linear memory):
//
//	input(n) ptr          a buffer of n bytes for the next call's input
//	output_ptr() ptr      the last call's output (results or error text)
//	output_len() n
//	inflate(n, lim) int   zstd frame in input, decoded by klauspost's decoder
//	                      alone (output capped at lim, but not below its
//	                      minimum window) -> output = SHA-256 of
//	                      the content; returns its length, or -1
//	load(n) int           IR bundle in input -> the engine; returns the flag
//	                      count, or -1
//	open(n) int           envelope request (below) -> envelope.Open; the
//	                      bundle becomes the engine; output = outcome JSON;
//	                      returns 0 (opened or rejected), or -1
//	verify(n) int         envelope request -> envelope.Verify; output = SHA-256
//	                      of the payload; returns its length, or -1 (output:
//	                      the rejection's sentinel name, or error text)
//	evaluate(n) int       request JSON in input -> output = results JSON;
//	                      returns the result count, or -1
//
// An envelope request is u32le len(jwks) ‖ jwks ‖ u32le len(bundle) ‖ bundle
// ‖ trust JSON {"project", "environment", "audience", "now" (RFC 3339),
// "graceSeconds", "maxSkewSeconds", "lastVersion" (decimal string),
// "maxCompressed", "maxDecompressed", "algorithms" (absent: the default)};
// the outcome is {"error": sentinel name} or {"claims": {...}, "flags": [...]}.
//
// An evaluate request is {"flag": key, "type": "boolean"|..., "all": bool,
// "now": RFC 3339, "context": {...}}; results are a JSON array of
// {"key", "value", "variant", "reason", "errorCode", "ruleId"}.
package main

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

func main() {}

var (
	in      []byte
	out     []byte
	engine  *eval.Engine
	results []eval.Result
)

//go:wasmexport input
func input(n uint32) uint32 {
	if uint32(cap(in)) < n {
		in = make([]byte, n)
	}
	in = in[:n]
	return ptr(in)
}

//go:wasmexport output_ptr
func outputPtr() uint32 { return ptr(out) }

//go:wasmexport output_len
func outputLen() uint32 { return uint32(len(out)) }

func ptr(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func fail(err error) int32 {
	out = append(out[:0], err.Error()...)
	return -1
}

//go:wasmexport inflate
func inflate(n, limit uint32) int32 {
	// The decoder refuses caps below its minimum window, even for tiny frames.
	mem := max(uint64(limit), zstd.MinWindowSize)
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(mem))
	if err != nil {
		return fail(err)
	}
	defer dec.Close()
	content, err := dec.DecodeAll(in[:n], nil)
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(content)
	out = append(out[:0], sum[:]...)
	return int32(len(content))
}

//go:wasmexport load
func load(n uint32) int32 {
	b, err := ir.Decode(in[:n], ir.DefaultLimits())
	if err != nil {
		return fail(err)
	}
	e, err := eval.Load(b, 1)
	if err != nil {
		return fail(err)
	}
	engine = e
	return int32(len(e.Keys()))
}

//go:wasmexport open
func open(n uint32) int32 {
	bundle, trust, err := envelopeRequest(in[:n])
	if err != nil {
		return rejection(err) // ErrJWKS, or a bad request
	}
	b, err := envelope.Open(bundle, trust)
	if err != nil {
		return rejection(err)
	}
	engine = b.Engine
	c := b.Claims
	out = append(out[:0], `{"claims":{"alg":`...)
	out = appendString(out, c.Algorithm)
	out = append(out, `,"kid":`...)
	out = appendString(out, c.KeyID)
	out = append(out, `,"project":`...)
	out = appendString(out, c.Project)
	out = append(out, `,"environment":`...)
	out = appendString(out, c.Environment)
	out = append(out, `,"audience":`...)
	out = appendString(out, c.Audience.String())
	out = append(out, `,"version":`...)
	out = strconv.AppendUint(out, c.Version, 10)
	out = append(out, `,"issuedAt":`...)
	out = appendString(out, c.IssuedAt.UTC().Format(time.RFC3339))
	out = append(out, `,"expiresAt":`...)
	out = appendString(out, c.ExpiresAt.UTC().Format(time.RFC3339))
	out = append(out, `},"flags":[`...)
	for i, k := range b.Engine.Keys() {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, k)
	}
	out = append(out, "]}"...)
	return 0
}

// rejection writes {"error": name} for a verifier rejection; an error that
// matches no sentinel is the caller's (a bad trust), reported as -1.
func rejection(err error) int32 {
	name := envelope.ErrorName(err)
	if name == "" {
		return fail(err)
	}
	out = append(out[:0], `{"error":`...)
	out = appendString(out, name)
	out = append(out, '}')
	return 0
}

//go:wasmexport verify
func verify(n uint32) int32 {
	bundle, trust, err := envelopeRequest(in[:n])
	if err != nil {
		return fail(err)
	}
	v, err := envelope.Verify(bundle, trust)
	if err != nil {
		if name := envelope.ErrorName(err); name != "" {
			err = errors.New(name)
		}
		return fail(err)
	}
	sum := sha256.Sum256(v.Payload)
	out = append(out[:0], sum[:]...)
	return int32(len(v.Payload))
}

// envelopeRequest splits an envelope request into the bundle and the trust
// (with the keys of its JWKS). A JWKS that ParseJWKS refuses is returned
// as its error, so that open reports ErrJWKS.
func envelopeRequest(req []byte) (bundle []byte, t envelope.Trust, err error) {
	jwks, rest, ok := cut(req)
	if !ok {
		return nil, t, errors.New("request: truncated JWKS")
	}
	bundle, rest, ok = cut(rest)
	if !ok {
		return nil, t, errors.New("request: truncated bundle")
	}
	v, err := ir.ParseJSON(rest)
	if err != nil {
		return nil, t, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, t, errors.New("request: trust is not an object")
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	num := func(k string) int64 { f, _ := m[k].(float64); return int64(f) }
	aud, ok := ir.ParseAudience(str("audience"))
	if !ok {
		return nil, t, errors.New("request: bad audience")
	}
	now, err := time.Parse(time.RFC3339Nano, str("now"))
	if err != nil {
		return nil, t, err
	}
	var last uint64
	if s := str("lastVersion"); s != "" {
		if last, err = strconv.ParseUint(s, 10, 64); err != nil {
			return nil, t, err
		}
	}
	t = envelope.Trust{Project: str("project"), Environment: str("environment"), Audience: aud, Now: now,
		Grace: time.Duration(num("graceSeconds")) * time.Second, MaxSkew: time.Duration(num("maxSkewSeconds")) * time.Second,
		LastVersion: last, MaxCompressed: int(num("maxCompressed")), MaxDecompressed: int(num("maxDecompressed"))}
	if algs, ok := m["algorithms"].([]any); ok {
		t.Algorithms = []string{}
		for _, a := range algs {
			s, _ := a.(string)
			t.Algorithms = append(t.Algorithms, s)
		}
	}
	if t.Keys, err = envelope.ParseJWKS(jwks); err != nil {
		return nil, t, err
	}
	return bundle, t, nil
}

// cut splits a u32le-length-prefixed field off b.
func cut(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

//go:wasmexport evaluate
func evaluate(n uint32) int32 {
	if engine == nil {
		return fail(errors.New("no bundle loaded"))
	}
	v, err := ir.ParseJSON(in[:n])
	if err != nil {
		return fail(err)
	}
	req, ok := v.(map[string]any)
	if !ok {
		return fail(errors.New("request is not an object"))
	}
	nowText, _ := req["now"].(string)
	now, err := time.Parse(time.RFC3339Nano, nowText)
	if err != nil {
		return fail(err)
	}
	ctx, _ := req["context"].(map[string]any)
	key, _ := req["flag"].(string)
	results = results[:0]
	switch typ, _ := req["type"].(string); {
	case req["all"] == true:
		results = engine.EvaluateAll(ctx, now, results)
	case typ != "":
		t, ok := ir.ParseFlagType(typ)
		if !ok {
			return fail(errors.New("unknown flag type " + strconv.Quote(typ)))
		}
		results = append(results, engine.EvaluateType(key, t, ctx, now))
	default:
		results = append(results, engine.Evaluate(key, ctx, now))
	}
	out = append(out[:0], '[')
	for i := range results {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = appendResult(out, &results[i]); err != nil {
			return fail(err)
		}
	}
	out = append(out, ']')
	return int32(len(results))
}

func appendResult(b []byte, r *eval.Result) ([]byte, error) {
	b = append(b, `{"key":`...)
	b = appendString(b, r.Key)
	b = append(b, `,"value":`...)
	b, err := appendValue(b, r.Value)
	if err != nil {
		return b, err
	}
	b = append(b, `,"variant":`...)
	b = appendString(b, r.Variant)
	b = append(b, `,"reason":`...)
	b = appendString(b, string(r.Reason))
	b = append(b, `,"errorCode":`...)
	b = appendString(b, string(r.ErrorCode))
	b = append(b, `,"ruleId":`...)
	b = appendString(b, r.RuleID)
	return append(b, '}'), nil
}

// appendValue writes a value as ir.ParseJSON produces them (and the engine
// serves them) as JSON.
func appendValue(b []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return appendString(b, v), nil
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		first := true
		for k, e := range v {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	return b, errors.New("value of unexpected Go type")
}

func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
