package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSpace(t *testing.T) {
	for _, c := range []struct {
		in   string
		i    int
		want int
	}{
		{"", 0, 0}, {" \t\r\n x", 0, 5}, {"x", 0, 0}, {"a  ", 1, 3}, {"\v", 0, 0}, {"\u00a0", 0, 0},
	} {
		if got := Space(c.in, c.i); got != c.want {
			t.Errorf("Space(%q, %d) = %d, want %d", c.in, c.i, got, c.want)
		}
		if got := Space([]byte(c.in), c.i); got != c.want {
			t.Errorf("Space([]byte(%q), %d) = %d, want %d", c.in, c.i, got, c.want)
		}
	}
}

func TestLiteral(t *testing.T) {
	if end, err := Literal(`[true]`, 1, "true"); end != 5 || err != nil {
		t.Errorf("true: %d, %v", end, err)
	}
	for _, in := range []string{"tru", "TRUE", "trUe", ""} {
		if _, err := Literal(in, 0, "true"); err == nil || !strings.Contains(err.Error(), "invalid literal") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		in  string
		end int    // for valid numbers: where the number ends
		msg string // for invalid ones
		at  int
	}{
		{in: "0", end: 1}, {in: "-0", end: 2}, {in: "01", end: 1}, {in: "-01", end: 2}, {in: "10", end: 2},
		{in: "1.5e+3,", end: 6}, {in: "1E-0]", end: 4}, {in: "123.456e789 ", end: 11}, {in: "0.0", end: 3},
		{in: "-", msg: "invalid number", at: 1}, {in: "-a", msg: "invalid number", at: 1}, {in: "+1", msg: "invalid number", at: 0},
		{in: ".5", msg: "invalid number", at: 0}, {in: "1.", msg: "fraction", at: 2}, {in: "1.e3", msg: "no digit after '.'", at: 2},
		{in: "1e", msg: "no digit in the exponent", at: 2}, {in: "1e+", msg: "exponent", at: 3}, {in: "1E-x", msg: "exponent", at: 3},
	} {
		end, err := Number(c.in, 0)
		if c.msg == "" {
			if err != nil || end != c.end {
				t.Errorf("Number(%q) = %d, %v; want %d", c.in, end, err, c.end)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.msg) || e.Offset != c.at || e.Limit {
			t.Errorf("Number(%q): %v, want %q at %d", c.in, err, c.msg, c.at)
		}
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   string
		mode Mode
		want string // the content (raw or unescaped)
		esc  bool   // whether it had escapes
	}{
		{`""`, 0, "", false},
		{`"héllo" x`, CheckUTF8, "héllo", false},
		{`"a\"b\\c\/d\b\f\n\r\t"`, 0, "a\"b\\c/d\b\f\n\r\t", true},
		{`"\u00e9\ud83d\ude00\u20AC"`, CheckUTF8, "é😀€", true},
		{`"x\u0000y"`, 0, "x\x00y", true},
		{`"\ud83d x"`, ReplaceSurrogates, "\uFFFD x", true},
		{`"\ude00\ud83d"`, ReplaceSurrogates, "\uFFFD\uFFFD", true},
		{`"\ud800\u0041"`, ReplaceSurrogates, "\uFFFDA", true},
		{`"\ud800\ud800\udc00"`, ReplaceSurrogates, "\uFFFD\U00010000", true},
		{"\"\xff\"", 0, "\xff", false}, // no CheckUTF8: the caller validated the input
	} {
		for _, buf := range [][]byte{nil, []byte("scratch")} {
			end, out, err := String(c.in, 0, buf, c.mode, 0)
			if err != nil {
				t.Errorf("String(%s): %v", c.in, err)
				continue
			}
			got := c.in[1 : end-1]
			if out != nil {
				got = string(out)
			}
			if got != c.want || (out != nil) != c.esc || c.in[end-1] != '"' {
				t.Errorf("String(%s) = %d, %q (escaped %v); want %q (escaped %v)", c.in, end, got, out != nil, c.want, c.esc)
			}
			bend, bout, berr := String([]byte(c.in), 0, buf, c.mode, 0)
			if bend != end || !bytes.Equal(bout, out) || berr != nil {
				t.Errorf("String([]byte(%s)) = %d, %q, %v; the string gives %d, %q", c.in, bend, bout, berr, end, out)
			}
			if dend, dout, derr := String(c.in, 0, buf, c.mode|Discard, 0); dend != end || dout != nil || derr != nil {
				t.Errorf("String(%s, Discard) = %d, %q, %v", c.in, dend, dout, derr)
			}
		}
	}
}

func TestStringRejects(t *testing.T) {
	for _, c := range []struct {
		in    string
		mode  Mode
		limit int
		msg   string
		at    int
		isLim bool
	}{
		{in: `"abc`, msg: "unterminated string", at: 0},
		{in: `"ab\`, msg: "unterminated string", at: 0},
		{in: `"ab\n`, msg: "unterminated string", at: 0},
		{in: "\"a\tb\"", msg: "unescaped control character in a string", at: 2},
		{in: "\"a\\nb\x1f\"", msg: "unescaped control character in a string", at: 5},
		{in: `"a\x"`, msg: "invalid escape in a string", at: 2},
		{in: `"\U0041"`, msg: "invalid escape in a string", at: 1},
		{in: `"\u12"`, msg: "short \\u escape", at: 3},
		{in: `"\u12g4"`, msg: "invalid \\u escape", at: 3},
		{in: `"\ud800"`, msg: "lone UTF-16 surrogate", at: 1},
		{in: `"x\udc00\ud800"`, msg: "lone UTF-16 surrogate", at: 2},
		{in: `"\ud800\u0041"`, msg: "lone UTF-16 surrogate", at: 1},
		{in: `"\ud800\ud800"`, msg: "lone UTF-16 surrogate", at: 1},
		{in: `"\ud800\u00"`, msg: "short \\u escape", at: 9},
		{in: `"\ud800\u00"`, mode: ReplaceSurrogates, msg: "short \\u escape", at: 9},
		{in: "\"\xca\"", mode: CheckUTF8, msg: "invalid UTF-8", at: 2},
		{in: "\"\\n\xff\"", mode: CheckUTF8, msg: "invalid UTF-8", at: 4},
		{in: `"abcd"`, limit: 3, msg: "string longer than 3 bytes", at: 1, isLim: true},
		{in: `"ab\ncd"`, limit: 3, msg: "string longer than 3 bytes", isLim: true, at: 6},
		{in: `"\u00e9\u00e9"`, limit: 3, msg: "string longer than 3 bytes", isLim: true, at: 13},
	} {
		_, out, err := String(c.in, 0, nil, c.mode, c.limit)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.msg) || e.Offset != c.at || e.Limit != c.isLim || out != nil {
			t.Errorf("String(%q): %v (limit %v), want %q at %d (limit %v)", c.in, err, e != nil && e.Limit, c.msg, c.at, c.isLim)
		}
		if _, _, derr := String(c.in, 0, nil, c.mode|Discard, c.limit); derr == nil {
			t.Errorf("String(%q, Discard) accepts", c.in)
		}
	}
	// At the limit is still fine.
	for _, in := range []string{`"abc"`, `"a\nc"`, `"\u00e9c"`} {
		if _, _, err := String(in, 0, nil, 0, 3); err != nil {
			t.Errorf("String(%s, limit 3): %v", in, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := String(`["\q"]`, 1, nil, 0, 0)
	if err == nil || err.Error() != "at byte 2: invalid escape in a string" {
		t.Errorf("got %v", err)
	}
}

// value decodes any JSON value with the package's primitives into the
// shapes encoding/json gives an interface, for the differential fuzz test:
// the object and array grammar a caller writes on top of them, with a
// depth bound and no duplicate check (encoding/json keeps the last).
func value[T Text](s T, i, depth int, mode Mode) (any, int, error) {
	if depth > 64 {
		return nil, i, errors.New("too deep")
	}
	i = Space(s, i)
	if i >= len(s) {
		return nil, i, errors.New("unexpected end")
	}
	switch c := s[i]; {
	case c == '{':
		m := map[string]any{}
		i = Space(s, i+1)
		if i < len(s) && s[i] == '}' {
			return m, i + 1, nil
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return nil, i, errors.New("want a name")
			}
			end, out, err := String(s, i, nil, mode, 0)
			if err != nil {
				return nil, end, err
			}
			k := string(s[i+1 : end-1])
			if out != nil {
				k = string(out)
			}
			if i = Space(s, end); i >= len(s) || s[i] != ':' {
				return nil, i, errors.New("want ':'")
			}
			var v any
			if v, i, err = value(s, i+1, depth+1, mode); err != nil {
				return nil, i, err
			}
			m[k] = v
			if i = Space(s, i); i < len(s) && s[i] == ',' {
				i = Space(s, i+1)
				continue
			}
			if i < len(s) && s[i] == '}' {
				return m, i + 1, nil
			}
			return nil, i, errors.New("want ',' or '}'")
		}
	case c == '[':
		a := []any{}
		i = Space(s, i+1)
		if i < len(s) && s[i] == ']' {
			return a, i + 1, nil
		}
		for {
			v, next, err := value(s, i, depth+1, mode)
			if err != nil {
				return nil, next, err
			}
			a = append(a, v)
			if i = Space(s, next); i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == ']' {
				return a, i + 1, nil
			}
			return nil, i, errors.New("want ',' or ']'")
		}
	case c == '"':
		end, out, err := String(s, i, nil, mode, 0)
		if err != nil {
			return nil, end, err
		}
		if out != nil {
			return string(out), end, nil
		}
		return string(s[i+1 : end-1]), end, nil
	case c == '-' || c >= '0' && c <= '9':
		end, err := Number(s, i)
		if err != nil {
			return nil, end, err
		}
		f, err := strconv.ParseFloat(string(s[i:end]), 64)
		return f, end, err
	case c == 't':
		end, err := Literal(s, i, "true")
		return true, end, err
	case c == 'f':
		end, err := Literal(s, i, "false")
		return false, end, err
	case c == 'n':
		end, err := Literal(s, i, "null")
		return nil, end, err
	}
	return nil, i, errors.New("unexpected character")
}

func document[T Text](s T, mode Mode) (any, error) {
	v, i, err := value(s, 0, 0, mode)
	if err == nil && Space(s, i) != len(s) {
		err = errors.New("data after the value")
	}
	return v, err
}

// FuzzScan holds the primitives to encoding/json: a document they accept
// (with the grammar above) encoding/json accepts with the same value;
// one encoding/json accepts they accept too, unless it is not valid UTF-8
// or, in strict mode, holds a lone surrogate escape (refused as such); and
// []byte and string input scan alike.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		// Real documents: an OFREP request, a JWKS, an event line, a variant.
		`{"context":{"targetingKey":"user-123","email":"user@example.com","custom-plan":"premium","country":"CA"}}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"}]}`,
		`{"id":"a\u00e9","type":"custom","name":"\ud83d\ude00","timestamp":"2026-12-01T10:30:00.123Z","value":-0.5e-3,"unit":"u","attributes":{},"received":"2026-12-01T10:30:00.123Z","source":"track"}`,
		`{"title":"Spring sale","discount":0.15,"colors":["#ff0000"],"cta":{"url":"https:\/\/example.com\/sale"}}`,
		// Edges.
		`[1,2.5e3,-0,true,false,null,"\u00e9\ud83d\ude00"]`, `{"a":1,"a":2}`, `"\ud800"`, `"\udc00\ud800x"`, `01`, `1.`, `-`, `1e400`,
		`{"a" 1}`, `[1,]`, "\"\x01\"", `{} {}`, "\"\xff\"", `" \t"`, "[\"\\u0000\"]", strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8192 {
			return
		}
		lax, laxErr := document(data, CheckUTF8|ReplaceSurrogates)
		strict, strictErr := document(data, CheckUTF8)
		if sv, serr := document(string(data), CheckUTF8); (serr == nil) != (strictErr == nil) || !reflect.DeepEqual(sv, strict) {
			t.Fatalf("%q: []byte %#v, %v; string %#v, %v", data, strict, strictErr, sv, serr)
		}
		var want any
		jerr := json.Unmarshal(data, &want)
		if laxErr == nil {
			if jerr != nil {
				t.Fatalf("%q: accepted, encoding/json says %v", data, jerr)
			}
			if !reflect.DeepEqual(lax, want) {
				t.Fatalf("%q: got %#v, encoding/json %#v", data, lax, want)
			}
		} else if jerr == nil && utf8.Valid(data) && !strings.Contains(laxErr.Error(), "too deep") {
			t.Fatalf("%q: refused (%v), encoding/json accepts", data, laxErr)
		}
		switch {
		case strictErr == nil && (laxErr != nil || !reflect.DeepEqual(strict, lax)):
			t.Fatalf("%q: strict %#v, lax %#v, %v", data, strict, lax, laxErr)
		case strictErr != nil && laxErr == nil && !strings.Contains(strictErr.Error(), "lone UTF-16 surrogate"):
			t.Fatalf("%q: strict mode refuses (%v) what it should accept", data, strictErr)
		}
	})
}
