package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// reference decodes a context the slow way: ir.ParseJSON, an object
// required, no bytes the empty context.
func reference(data []byte) (map[string]any, bool) {
	if len(data) == 0 {
		return map[string]any{}, true
	}
	v, err := ir.ParseJSON(data)
	m, ok := v.(map[string]any)
	return m, err == nil && ok
}

var contextSeeds = []string{
	``, `{}`, ` { } `, `{"a":1}`, `{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}`,
	`{"a":"x","a":"y"}`, `{"k\u00e9y":"v\n\u2028","t":true,"f":false,"n":null,"x":-1.5e-7}`, `{"user":{"plan":"pro"},"tags":["a","b"]}`,
	`{"user.plan":"pro","user":{"plan":"free"}}`, `{"a":01}`, `{"a":1.}`, `{"a":"\xff"}`, `{"\xff":1}`, `{"a":"x` + "\x01" + `"}`,
	`{"a":tru}`, `{"a":truex}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `[]`, `"x"`, `{"a":1} x`, `{"a":"\ud800"}`, `{"a":[` + strings.Repeat("[", 70) + `]}`,
	`{"a":1e400}`, `{"a":"x"`, `{"a":`, `{"a`, `{`, ` `, `{"a":"b\"}`, `{"a":nul}`, `{"a":"\u00"}`,
}

func TestContextDecoder(t *testing.T) {
	var d contextDecoder
	for _, s := range contextSeeds {
		checkContext(t, &d, []byte(s))
	}
	// The same bytes again give the same map without decoding.
	data := []byte(`{"a":"x"}`)
	c1, _ := d.decode(data)
	c2, _ := d.decode([]byte(`{"a":"x"}`))
	if reflect.ValueOf(c1).Pointer() != reflect.ValueOf(c2).Pointer() {
		t.Error("equal bytes decoded twice")
	}
}

func checkContext(t *testing.T, d *contextDecoder, data []byte) {
	t.Helper()
	want, wantOK := reference(data)
	got, err := d.decode(append([]byte(nil), data...))
	if (err == nil) != wantOK {
		t.Fatalf("decode(%q): error %v, ir.ParseJSON accepts: %v", data, err, wantOK)
	}
	if err == nil && !reflect.DeepEqual(map[string]any(got), want) {
		t.Fatalf("decode(%q) = %#v, ir.ParseJSON = %#v", data, got, want)
	}
}

// FuzzContextMatchesParseJSON: the fast decoder accepts exactly what
// ir.ParseJSON accepts as an object and decodes the same values, also
// when decoding one context after another (their strings share a buffer).
func FuzzContextMatchesParseJSON(f *testing.F) {
	for i, s := range contextSeeds {
		f.Add([]byte(s), []byte(contextSeeds[(i+1)%len(contextSeeds)]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d contextDecoder
		checkContext(t, &d, a)
		checkContext(t, &d, b)
		checkContext(t, &d, a)
	})
}
