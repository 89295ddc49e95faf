package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// stdJSON is what encoding/json writes for v with HTML escaping off (the
// encoder `edgeflag eval` uses), without the trailing newline.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var jsonValues = []any{
	nil, true, false, "", "plain", `quote " backslash \ slash /`, "<html> & 'apos'",
	"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "héllo wörld 日本 🎉", "\u2028\u2029", "bad \xff\xfe utf8 \xc3",
	"truncated \xe6\x97", 0.0, math.Copysign(0, -1), 1.0, -1.0, 0.5, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.2345e21,
	123456789012345678.0, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e300, -1e-300, 3.141592653589793, 100.0, 1e6,
	[]any{}, []any{1.0, "a", nil, []any{true}}, map[string]any{}, map[string]any{"b": 1.0, "a": []any{"x"}, "": nil, "é": "e", "Z": false, "a\"": map[string]any{"k": "v"}},
}

// TestJSONMatchesEncodingJSON: the hand-written writer is byte-identical
// to encoding/json for every kind of value the engine serves.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range jsonValues {
		got, ok := appendValue(nil, v)
		if !ok {
			t.Errorf("appendValue(%#v) refused", v)
			continue
		}
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Errorf("appendValue(%#v) = %s, encoding/json = %s", v, got, want)
		}
	}
}

func TestJSONRefusesWhatJSONCannotHold(t *testing.T) {
	deep := any(1.0)
	for i := 0; i <= maxValueDepth+1; i++ {
		deep = []any{deep}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), math.Inf(-1), int(1), []any{math.NaN()}, map[string]any{"x": struct{}{}}, deep} {
		if out, ok := appendValue(nil, v); ok {
			t.Errorf("appendValue(%T) = %s, want refused", v, out)
		}
	}
}

// TestResultMatchesEdgeflagEval: a result object has the fields, order and
// omissions of the CLI's ResultJSON, mirrored here field for field because
// publisher/cli does not build for wasip1 (where these tests are vetted);
// TestCorpusOnWazero compares with cli.ResultJSON itself.
func TestResultMatchesEdgeflagEval(t *testing.T) {
	type resultJSON struct {
		Key       string `json:"key"`
		Value     any    `json:"value"`
		Variant   string `json:"variant"`
		Reason    string `json:"reason"`
		ErrorCode string `json:"errorCode,omitempty"`
		RuleID    string `json:"ruleId,omitempty"`
		Version   uint64 `json:"version"`
	}
	for _, r := range []eval.Result{
		{Key: "f", Value: true, Variant: "on", Reason: eval.ReasonStatic, Version: 1},
		{Key: "missing", Reason: eval.ReasonError, ErrorCode: eval.CodeFlagNotFound, Version: 1<<53 - 1},
		{Key: "s", Value: map[string]any{"a": []any{1.0}}, Variant: "v<1>", Reason: eval.ReasonSplit, RuleID: "r&1", Version: 0},
		{Key: "k\u2028", Value: "x", Variant: "", Reason: eval.ReasonDefault, ErrorCode: eval.CodeTargetingKeyMissing, RuleID: "r", Version: 18446744073709551615},
		{Key: "m", Value: 1.0, Variant: "one", Reason: eval.ReasonTargetingMatch, Metadata: []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "me"}}}},
	} {
		got, ok := appendResult(nil, &r)
		if !ok {
			t.Fatalf("appendResult(%+v) refused", r)
		}
		want := stdJSON(t, resultJSON{r.Key, r.Value, r.Variant, string(r.Reason), string(r.ErrorCode), r.RuleID, r.Version})
		if !bytes.Equal(got, want) {
			t.Errorf("appendResult = %s\n        want %s", got, want)
		}
	}
}

func TestErrorObject(t *testing.T) {
	got := appendError(nil, "ErrContext", "read context: JSON: unexpected end at offset 3\n\"")
	var e struct{ Error, Message string }
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error != "ErrContext" || !strings.HasSuffix(e.Message, "offset 3\n\"") {
		t.Fatalf("appendError = %s (%v)", got, err)
	}
}

// FuzzJSONMatchesEncodingJSON: any JSON the engine's parser accepts is
// written back exactly as encoding/json writes the same decoded value.
func FuzzJSONMatchesEncodingJSON(f *testing.F) {
	for _, v := range jsonValues {
		f.Add(stdJSON(f, v))
	}
	f.Add([]byte(`{"a":[1,2.5e-8,"\u00e9\ud83d\ude00\ud800"],"b":{"c":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ir.ParseJSON(data)
		if err != nil {
			return
		}
		got, ok := appendValue(nil, v)
		if !ok {
			t.Fatalf("appendValue refused %q", data)
		}
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("input %q: appendValue = %s, encoding/json = %s", data, got, want)
		}
		// A string of any bytes, valid UTF-8 or not.
		s := string(data)
		if got, want := appendString(nil, s), stdJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}
