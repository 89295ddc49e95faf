package ofrepspec_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
)

// TestValidatorRejects: the validator is not a rubber stamp.
func TestValidatorRejects(t *testing.T) {
	s := ofrepspec.Load(t)
	one := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/f", nil)
	bulk := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags", nil)
	js := http.Header{"Content-Type": {"application/json"}}
	good := []struct {
		req    *http.Request
		status int
		h      http.Header
		body   string
	}{
		{one, 200, js, `{"key":"f","value":true,"reason":"TARGETING_MATCH","variant":"on","metadata":{"version":3,"owner":"x"}}`},
		{one, 200, js, `{"key":"f","value":2,"reason":"DEFAULT","variant":"some"}`},
		{one, 200, js, `{"key":"f","value":{"a":[1]},"reason":"STATIC","variant":"v"}`},
		{one, 404, js, `{"key":"f","errorCode":"FLAG_NOT_FOUND","errorDetails":"x"}`},
		{one, 400, js, `{"key":"f","errorCode":"PARSE_ERROR","errorDetails":"x"}`},
		{one, 429, http.Header{"Retry-After": {"3"}}, `{}`},
		{bulk, 200, js, `{"flags":[{"key":"f","value":"x","reason":"SPLIT","variant":"a"}],"metadata":{"version":1}}`},
		{bulk, 400, js, `{"errorCode":"INVALID_CONTEXT"}`},
	}
	for _, g := range good {
		if err := s.Validate(g.req, g.status, g.h, []byte(g.body)); err != nil {
			t.Errorf("valid response rejected: %v", err)
		}
	}
	bad := []struct {
		req    *http.Request
		status int
		body   string
	}{
		{one, 200, `{"key":"f","reason":"NOPE","value":true}`},
		{one, 200, `{"key":"f","value":true}`},
		{one, 200, `{"key":"f","value":true,"reason":"STATIC","metadata":{"a":{"nested":1}}}`},
		{one, 404, `{"key":"f","errorCode":"GENERAL"}`},
		{one, 400, `{"key":"f","errorCode":"TYPE_MISMATCH"}`},
		{one, 400, `{"errorCode":"PARSE_ERROR"}`},
		{bulk, 200, `{"flags":[{"key":"f"}]}`},
		{bulk, 200, `{"metadata":{}}`},
	}
	for _, b := range bad {
		if err := s.Validate(b.req, b.status, js, []byte(b.body)); err == nil {
			t.Errorf("invalid %d response accepted: %s", b.status, b.body)
		}
	}
	if err := s.Validate(one, 429, http.Header{"Retry-After": {"soon"}}, []byte(`{}`)); err == nil {
		t.Error("Retry-After: soon accepted")
	}
}
