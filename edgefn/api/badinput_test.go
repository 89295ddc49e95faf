package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
)

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString(`{"context":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	b.WriteString(`}}`)
	return b.String()
}

func nested(n int) string {
	return `{"context":{"a":` + strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) + `}}`
}

// TestBadInput: every kind of bad request gets a 4xx with a JSON body in
// the route's shape and a clear message; nothing answers 5xx.
func TestBadInput(t *testing.T) {
	s := newServer(t, nil)
	k := key(fixture.Backend)
	single := "/ofrep/v1/evaluate/flags/new-checkout"
	bulk := "/ofrep/v1/evaluate/flags"
	huge := `{"context":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
	cases := []struct {
		name, path, body string
		headers          []string
		status           int
		ofrep            string // OFREP errorCode, "" for generic routes
		msg              string
	}{
		{"malformed body", single, `{"context":`, nil, 400, "PARSE_ERROR", "unexpected end of input"},
		{"malformed body, bulk", bulk, `{"context":{]}`, nil, 400, "PARSE_ERROR", "want a member name"},
		{"not an object", single, `[1,2]`, nil, 400, "PARSE_ERROR", "must be a JSON object"},
		{"trailing garbage", single, `{"context":{}} x`, nil, 400, "PARSE_ERROR", "after the value"},
		{"duplicate member", single, `{"context":{"plan":"pro","plan":"free"}}`, nil, 400, "PARSE_ERROR", `duplicate member "plan"`},
		{"unknown field", single, `{"context":{},"ctx":{}}`, nil, 400, "PARSE_ERROR", `unknown field "ctx"`},
		{"context not an object", single, `{"context":"u-1"}`, nil, 400, "INVALID_CONTEXT", "context must be a JSON object"},
		{"targetingKey not a string", bulk, `{"context":{"targetingKey":42}}`, nil, 400, "INVALID_CONTEXT", "targetingKey must be a string"},
		{"wrong content type", single, `{"context":{}}`, []string{"Content-Type", "text/plain"}, 415, "GENERAL", "Content-Type must be application/json"},
		{"no content type", bulk, `{"context":{}}`, []string{"Content-Type", ""}, 415, "GENERAL", "Content-Type must be application/json"},
		{"body over 1 MiB", single, huge, nil, 413, "GENERAL", "larger than 1048576 bytes"},
		{"10 000 context keys", single, manyKeys(10000), nil, 400, "PARSE_ERROR", "more than 2000 members"},
		{"nested 64 levels", bulk, nested(64), nil, 400, "PARSE_ERROR", "nested deeper than 16"},
		{"10 KB flag key", "/ofrep/v1/evaluate/flags/" + strings.Repeat("k", 10240), `{"context":{}}`, nil, 400, "GENERAL", "longer than 256 bytes"},
		{"invalid UTF-8 key", "/ofrep/v1/evaluate/flags/%ff%fe", `{"context":{}}`, nil, 400, "GENERAL", "not valid UTF-8"},
		{"invalid UTF-8 body", single, "{\"context\":{\"plan\":\"\xff\"}}", nil, 400, "PARSE_ERROR", "invalid UTF-8"},
		{"lone surrogate", single, `{"context":{"plan":"\udc00"}}`, nil, 400, "PARSE_ERROR", "surrogate"},
		{"empty body", single, ``, []string{"Content-Type", "application/json"}, 400, "PARSE_ERROR", "end of input"},
		{"evaluate: not a list", "/v1/evaluate", `{"requests":{}}`, nil, 400, "", "requests must be an array"},
		{"evaluate: 1 KB flag key", "/v1/evaluate", `{"requests":[{"flagKey":"` + strings.Repeat("k", 1024) + `"}]}`, nil, 400, "", "longer than 256 bytes"},
		{"evaluate: 10 KB flag key", "/v1/evaluate", `{"requests":[{"flagKey":"` + strings.Repeat("k", 10240) + `"}]}`, nil, 400, "", "string longer than 8192 bytes"},
		{"evaluate: 10 000 keys", "/v1/evaluate", `{"requests":[{"flagKey":"a","context":` + manyKeys(10000)[len(`{"context":`):len(manyKeys(10000))-1] + `}]}`, nil, 400, "", "the limits are 2000 and 14"},
		{"evaluate: too many requests", "/v1/evaluate", `{"requests":[` + strings.Repeat(`{"flagKey":"a"},`, 1000) + `{"flagKey":"a"}]}`, nil, 400, "", "1 to 1000 entries"},
		{"evaluate: unknown option", "/v1/evaluate", `{"requests":[{"flagKey":"a"}],"options":{"explain":true}}`, nil, 400, "", `unknown field "explain"`},
		{"evaluate: includeReasons not bool", "/v1/evaluate", `{"requests":[{"flagKey":"a"}],"options":{"includeReasons":"yes"}}`, nil, 400, "", "must be a boolean"},
		{"evaluate: wrong content type", "/v1/evaluate", `{}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "", "Content-Type"},
		{"evaluate: nested 64", "/v1/evaluate", `{"requests":[{"flagKey":"a","context":` + nested(64)[len(`{"context":`):len(nested(64))-1] + `}]}`, nil, 400, "", "nested deeper than 20"},
		{"evaluate: context nested 15", "/v1/evaluate", `{"requests":[{"flagKey":"a","context":` + nested(14)[len(`{"context":`):len(nested(14))-1] + `}]}`, nil, 400, "", "the limits are 2000 and 14"},
		{"tokens: invalid UTF-8", "/v1/tokens", "{\"subject\":\"\xc3\"}", nil, 400, "", "invalid UTF-8"},
		{"tokens: body over 1 MiB", "/v1/tokens", `{"subject":"` + strings.Repeat("u", 1<<20) + `"}`, nil, 413, "", "larger than"},
	}
	for _, c := range cases {
		a := s.do("POST", c.path, c.body, append(append([]string{}, k...), c.headers...)...)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d: %.200s", c.name, a.status, c.status, a.body)
			continue
		}
		m := a.json(t)
		var msg string
		if c.ofrep != "" {
			if m["errorCode"] != c.ofrep {
				t.Errorf("%s: errorCode %v, want %s", c.name, m["errorCode"], c.ofrep)
			}
			msg, _ = m["errorDetails"].(string)
			if c.path != bulk && m["key"] == nil {
				t.Errorf("%s: single-flag error without key: %s", c.name, a.body)
			}
		} else {
			msg, _ = m["message"].(string)
			if m["error"] == "" {
				t.Errorf("%s: no error code: %s", c.name, a.body)
			}
		}
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q does not say %q", c.name, msg, c.msg)
		}
	}
	// A body that says it is small but is not, sent without a length.
	req, _ := http.NewRequest("POST", s.srv.URL+single, strings.NewReader(huge))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", fixture.Backend)
	req.ContentLength = -1
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked body over the limit: %d", resp.StatusCode)
	}
}
