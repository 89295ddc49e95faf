package reqjson_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/reqjson"
)

func TestParseValues(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{`{"context":{"targetingKey":"u-1","age":34,"beta":true,"tags":["a","b"],"x":null}}`,
			map[string]any{"context": map[string]any{"targetingKey": "u-1", "age": 34.0, "beta": true, "tags": []any{"a", "b"}, "x": nil}}},
		{` [ 1 , -0.5e2 , 0 ] `, []any{1.0, -50.0, 0.0}},
		{`"\u00e9\ud83d\ude00\n\"\\\/"`, "é😀\n\"\\/"},
		{`{}`, map[string]any{}},
		{`[]`, []any{}},
		{`false`, false},
	}
	for _, c := range cases {
		got, err := reqjson.Parse([]byte(c.in), reqjson.Limits{})
		if err != nil {
			t.Errorf("Parse(%s): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%s) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64)
	var many strings.Builder
	many.WriteString(`{"context":{`)
	for i := 0; i < 10000; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `_` + strconv.Itoa(i) + `":1`)
	}
	many.WriteString(`}}`)
	cases := []struct {
		in, msg string
		limit   bool
	}{
		{`{"a":1,"a":2}`, `duplicate member "a"`, false},
		{`{"a":1,"\u0061":2}`, `duplicate member "a"`, false},
		{"{\"a\":\"\xff\"}", "invalid UTF-8", false},
		{`"\ud800"`, "lone UTF-16 surrogate", false},
		{`"\udc00\ud800"`, "lone UTF-16 surrogate", false},
		{"\"a\tb\"", "unescaped control character", false},
		{`{"a":1}x`, "after the value", false},
		{`{"a":1`, "end of input", false},
		{`{'a':1}`, "want a member name", false},
		{`01`, "after the value", false},
		{`1.`, "no digit after", false},
		{`1e`, "no digit in the exponent", false},
		{`1e400`, "out of range", false},
		{`"\x"`, "invalid escape", false},
		{`tru`, "invalid literal", false},
		{``, "end of input", false},
		{deep, "nested deeper than 16", true},
		{many.String(), "more than 2000 members", true},
		{`"` + strings.Repeat("k", 10000) + `"`, "string longer than 8192", true},
		{`"` + strings.Repeat(`\n`, 9000) + `"`, "string longer than 8192", true},
	}
	for _, c := range cases {
		_, err := reqjson.Parse([]byte(c.in), reqjson.Limits{})
		var e *reqjson.Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%.40q): err = %v, want a *reqjson.Error", c.in, err)
			continue
		}
		if !strings.Contains(e.Msg, c.msg) || e.Limit != c.limit {
			t.Errorf("Parse(%.40q): %v (limit %v), want %q (limit %v)", c.in, err, e.Limit, c.msg, c.limit)
		}
	}
	// The offset points at the problem.
	_, err := reqjson.Parse([]byte(`{"a":1,"a":2}`), reqjson.Limits{})
	if e := err.(*reqjson.Error); e.Offset != 7 {
		t.Errorf("duplicate offset %d, want 7", e.Offset)
	}
	// Custom limits apply.
	if _, err := reqjson.Parse([]byte(`[[1]]`), reqjson.Limits{MaxDepth: 1}); err == nil {
		t.Error("MaxDepth 1 accepted depth 2")
	}
	if _, err := reqjson.Parse([]byte(`[1]`), reqjson.Limits{MaxDepth: 1}); err != nil {
		t.Errorf("MaxDepth 1 rejected depth 1: %v", err)
	}
}
