package ir

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{`true`, true},
		{` false `, false},
		{`null`, nil},
		{`-12.5e2`, -1250.0},
		{`0`, 0.0},
		{`"héllo"`, "héllo"},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{`"\u00e9\ud83d\ude00"`, "é😀"},
		{`"\ud83d x"`, "\uFFFD x"}, // lone high surrogate
		{`"\ude00"`, "\uFFFD"},     // lone low surrogate
		{`{"b":[1,{"c":null}],"a":"x"}`, map[string]any{"a": "x", "b": []any{1.0, map[string]any{"c": nil}}}},
		{`[]`, []any{}},
		{`{}`, map[string]any{}},
	} {
		got, err := ParseJSON([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestParseJSONRejects(t *testing.T) {
	for in, want := range map[string]string{
		``:              "unexpected end",
		`01`:            "leading zero",
		`1-2`:           "trailing data",
		`1.`:            "fraction",
		`1e`:            "exponent",
		`1e999`:         "out of range",
		`"a`:            "unterminated",
		"\"a\x01\"":     "control character",
		`"\x"`:          "invalid escape",
		`"\u12"`:        "short",
		`"\u12g4"`:      "invalid \\u escape",
		`{"a" 1}`:       "expected ':'",
		`{a:1}`:         "expected object key",
		`[1 2]`:         "expected ',' or ']'",
		`{"a":1 "b":2}`: "expected ',' or '}'",
		`tru`:           "invalid literal",
		`[1] x`:         "trailing data",
		`+1`:            "unexpected character",
		"\"\xca\"":      "invalid UTF-8",
		"\"a\\n\xff\"":  "invalid UTF-8",
		strings.Repeat(`[`, 66) + strings.Repeat(`]`, 66): "nesting too deep",
	} {
		_, err := ParseJSON([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", in, err, want)
		}
		if cerr := checkJSON([]byte(in), TypeObject); cerr == nil {
			t.Errorf("%q: checkJSON accepted what ParseJSON rejects", in)
		}
	}
}

// FuzzParseJSON checks that Validate's check-only mode and the engine's
// decoding mode accept exactly the same inputs, and that what they accept
// is valid JSON decoding to the same value as encoding/json.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\u00e9"],"b":null}`, `"\ud83d\ude00"`, `-0.0`, `[true,false]`, `01`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		p := jsonParser[[]byte]{data: data}
		_, cerr := p.value(0)
		if cerr == nil {
			p.ws()
			if p.i != len(data) {
				cerr = p.fail("trailing data")
			}
		}
		if (err == nil) != (cerr == nil) {
			t.Fatalf("%q: build mode %v, check mode %v", data, err, cerr)
		}
		sv, serr := ParseJSONString(string(data))
		if (err == nil) != (serr == nil) || (err == nil && !reflect.DeepEqual(v, sv)) {
			t.Fatalf("%q: ParseJSON %#v, %v; ParseJSONString %#v, %v", data, v, err, sv, serr)
		}
		if err != nil {
			return
		}
		var want any
		if jerr := json.Unmarshal(data, &want); jerr != nil {
			t.Fatalf("%q: we accept, encoding/json says %v", data, jerr)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("%q: got %#v, encoding/json %#v", data, v, want)
		}
	})
}
