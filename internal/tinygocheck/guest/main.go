//go:build wasip1

// Command guest is the TinyGo proof module (package tinygocheck): a wasip1
// reactor holding the engine (bundle/eval), the IR codec (bundle/ir) and the
// klauspost zstd decoder, with a small internal ABI that the test in
// internal/tinygocheck drives under wazero. It is not the product's wasm
// ABI (that is wasm/); it exists to prove, result by result, that these
// packages build and run under TinyGo with -scheduler=none -panic=trap, and
// it builds with the standard Go toolchain too so both can be compared.
//
// ABI (all lengths and pointers are u32 into linear memory):
//
//	input(n) ptr          a buffer of n bytes for the next call's input
//	output_ptr() ptr      the last call's output (results or error text)
//	output_len() n
//	inflate(n, lim) int   zstd frame in input -> output = SHA-256 of the
//	                      content; returns its length, or -1 (output: error)
//	load(n, zstd) int     IR bundle (zstd frame when zstd != 0) in input ->
//	                      the engine; returns the flag count, or -1
//	evaluate(n) int       request JSON in input -> output = results JSON;
//	                      returns the result count, or -1
//
// A request is {"flag": key, "type": "boolean"|..., "all": bool,
// "now": RFC 3339, "context": {...}}; results are a JSON array of
// {"key", "value", "variant", "reason", "errorCode", "ruleId"}.
package main

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see

import (
	"crypto/sha256"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/klauspost/compress/zstd"

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
	content, err := decompress(in[:n], int(limit))
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(content)
	out = append(out[:0], sum[:]...)
	return int32(len(content))
}

//go:wasmexport load
func load(n, compressed uint32) int32 {
	data := in[:n]
	if compressed != 0 {
		var err error
		if data, err = decompress(data, ir.DefaultLimits().MaxBytes); err != nil {
			return fail(err)
		}
	}
	b, err := ir.Decode(data, ir.DefaultLimits())
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

// decompress decodes one zstd frame with the decoder settings the envelope
// uses: one decoder, memory and window capped at the output limit.
func decompress(frame []byte, limit int) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return nil, err
	}
	if !h.HasFCS || h.FrameContentSize > uint64(limit) {
		return nil, errors.New("zstd frame content size missing or over the limit")
	}
	window := max(uint64(limit)+1, zstd.MinWindowSize)
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(window),
		zstd.WithDecoderMaxWindow(window))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	content, err := dec.DecodeAll(frame, make([]byte, 0, h.FrameContentSize))
	if err != nil {
		return nil, err
	}
	if uint64(len(content)) != h.FrameContentSize {
		return nil, errors.New("zstd content size differs from the frame header")
	}
	return content, nil
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
