package ir

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
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

// TestJSONWriterMatchesEncodingJSON: the writer is byte-identical to
// encoding/json for every kind of value the engine serves.
func TestJSONWriterMatchesEncodingJSON(t *testing.T) {
	for _, v := range jsonValues {
		got, ok := AppendJSONValue(nil, v)
		if !ok {
			t.Errorf("AppendJSONValue(%#v) refused", v)
			continue
		}
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONValue(%#v) = %s, encoding/json = %s", v, got, want)
		}
	}
}

func TestJSONWriterRefusesWhatJSONCannotHold(t *testing.T) {
	deep := any(1.0)
	for i := 0; i <= maxWriteDepth+1; i++ {
		deep = []any{deep}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), math.Inf(-1), int(1), []any{math.NaN()}, map[string]any{"x": struct{}{}}, deep} {
		if out, ok := AppendJSONValue(nil, v); ok {
			t.Errorf("AppendJSONValue(%T) = %s, want refused", v, out)
		}
	}
}

// FuzzJSONWriterMatchesEncodingJSON: any JSON ParseJSON accepts is written
// back exactly as encoding/json writes the same decoded value, and reads
// back as the same value.
func FuzzJSONWriterMatchesEncodingJSON(f *testing.F) {
	for _, v := range jsonValues {
		f.Add(stdJSON(f, v))
	}
	f.Add([]byte(`{"a":[1,2.5e-8,"\u00e9\ud83d\ude00\ud800"],"b":{"c":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		if err != nil {
			return
		}
		got, ok := AppendJSONValue(nil, v)
		if !ok {
			t.Fatalf("AppendJSONValue refused %q", data)
		}
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("input %q: AppendJSONValue = %s, encoding/json = %s", data, got, want)
		}
		if back, err := ParseJSON(got); err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("input %q: %s reads back as %#v, %v", data, got, back, err)
		}
		// A string of any bytes, valid UTF-8 or not.
		s := string(data)
		if got, want := AppendJSONString(nil, s), stdJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSONString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}
