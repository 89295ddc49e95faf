package envelope

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// scanAny reads any JSON value with the scanner's primitives into the
// shapes encoding/json produces (numbers as json.Number), for the differential
// test below. It recurses; the test bounds the input size.
func scanAny(s *jsonScanner) (any, error) {
	switch s.peek() {
	case '{':
		m := map[string]any{}
		err := s.object(func(name string) error {
			v, err := scanAny(s)
			m[name] = v
			return err
		}, func(name string) error { return &jsonError{msg: "duplicate " + name} })
		return m, err
	case '[':
		a := []any{}
		err := s.array(func(int) error {
			v, err := scanAny(s)
			a = append(a, v)
			return err
		})
		return a, err
	}
	kind, text, err := s.scalar()
	if err != nil {
		return nil, err
	}
	switch kind {
	case jsonString:
		return text, nil
	case jsonNumber:
		return json.Number(text), nil
	case jsonBool:
		return text == "true", nil
	}
	return nil, nil
}

func scanDoc(data []byte) (any, error) {
	s := jsonScanner{data: data}
	v, err := scanAny(&s)
	if err == nil {
		err = s.end()
	}
	return v, err
}

// laxOnly reports whether encoding/json may accept data that the strict
// scanner rightly refuses: duplicate names, invalid UTF-8 or lone
// surrogate escapes (which encoding/json replaces with U+FFFD).
func laxOnly(data []byte) bool {
	return !utf8.Valid(data) || strings.Contains(string(data), `\u`) || hasDuplicateNames(data)
}

func hasDuplicateNames(data []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	type frame struct {
		obj   bool
		names map[string]bool
		key   bool // next string token is a name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: v == '{', names: map[string]bool{}, key: v == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
			continue
		case string:
			if top != nil && top.obj && top.key {
				if top.names[v] {
					return true
				}
				top.names[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

// FuzzJSONScanner compares the strict scanner with encoding/json: what it
// accepts, encoding/json accepts with the same value; what it refuses,
// encoding/json refuses too unless the input has one of the strictness
// cases (duplicates, invalid UTF-8, escapes that may be lone surrogates).
func FuzzJSONScanner(f *testing.F) {
	for _, s := range []string{
		canonHdr, `{"keys":[{"kty":"OKP","x":"abc"}]}`, `[1,2.5e3,-0,true,false,null,"\u00e9\ud83d\ude00"]`,
		`{"a":1,"a":2}`, `{"k\u0069d":1,"kid":2}`, `"\ud800"`, `01`, `1.`, `{"a" 1}`, `[1,]`, "\"\x01\"", `{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		got, err := scanDoc(data)
		var want any
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		jerr := dec.Decode(&want)
		if jerr == nil && dec.More() {
			jerr = errors.New("data after the value")
		} else if jerr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				jerr = errors.New("data after the value")
			}
		}
		if err == nil {
			if jerr != nil {
				t.Fatalf("scanner accepts what encoding/json refuses (%v): %q", jerr, data)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("values differ for %q:\n got %#v\nwant %#v", data, got, want)
			}
			return
		}
		if jerr == nil && !laxOnly(data) {
			t.Fatalf("scanner refuses (%v) what encoding/json accepts: %q", err, data)
		}
	})
}

func TestJSONScannerStrictness(t *testing.T) {
	for in, ok := range map[string]bool{
		`{"a":"b"}`: true, ` { "a" : "\u00e9" } `: true, `{"a":"\ud83d\ude00"}`: true,
		`{"a":1,"a":1}`: false, `{"a":1,"\u0061":1}`: false, `{"a":"\ud800"}`: false,
		`{"a":"\udc00\ud800"}`: false, "{\"a\":\"\xff\"}": false, `{"a":1}{}`: false, "{\"a\":1}\x00": false, "\x00": false, `{"a":1} x`: false,
		"{\"a\":\"\t\"}": false, `{"a":01}`: false, `{"a":.5}`: false, `{"a":1.}`: false, `{"a":tru}`: false,
	} {
		_, err := scanDoc([]byte(in))
		if (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%v", in, err, ok)
		}
	}
}
