// Package ofrepspec validates OFREP responses against the OFREP v0.3.0
// OpenAPI document in edgefn/testdata (see its README for the origin and
// the five fix-ups applied here, and no others). Tests route every OFREP
// response they receive through it.
package ofrepspec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"gopkg.in/yaml.v3"
)

// Spec is the loaded, fixed-up OFREP document.
type Spec struct {
	doc       *openapi3.T
	Validated atomic.Int64 // responses validated so far
}

var (
	once    sync.Once
	loaded  *Spec
	loadErr error
)

// Path of the spec copy, relative to this file.
func specPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "ofrep-openapi.yaml")
}

// Load returns the spec (loaded once per test binary).
func Load(t testing.TB) *Spec {
	t.Helper()
	once.Do(func() { loaded, loadErr = load(specPath()) })
	if loadErr != nil {
		t.Fatalf("load OFREP spec: %v", loadErr)
	}
	return loaded
}

func load(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if err := fixUp(m); err != nil {
		return nil, fmt.Errorf("fix up: %w", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate document: %w", err)
	}
	return &Spec{doc: doc}, nil
}

func get(m any, path ...string) (map[string]any, error) {
	cur := m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object", strings.Join(path, "."))
		}
		cur = mm[p]
	}
	mm, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", strings.Join(path, "."))
	}
	return mm, nil
}

// fixUp applies exactly the README's five fix-ups.
func fixUp(m map[string]any) error {
	schemas, err := get(m, "components", "schemas")
	if err != nil {
		return err
	}
	// 1. evaluationSuccess: the value oneOf becomes anyOf.
	succ, err := get(schemas, "evaluationSuccess")
	if err != nil {
		return err
	}
	allOf, ok := succ["allOf"].([]any)
	if !ok || len(allOf) != 2 {
		return fmt.Errorf("evaluationSuccess.allOf: unexpected shape")
	}
	valueAlt, ok := allOf[1].(map[string]any)
	if !ok || valueAlt["oneOf"] == nil {
		return fmt.Errorf("evaluationSuccess.allOf[1].oneOf missing")
	}
	valueAlt["anyOf"] = valueAlt["oneOf"]
	delete(valueAlt, "oneOf")
	// 5. reason: also DEFAULT.
	reason, err := get(allOf[0], "properties", "reason")
	if err != nil {
		return err
	}
	reason["enum"] = append(reason["enum"].([]any), "DEFAULT")
	// 2. codeDefaultFlag: not {required: [value]}.
	cdf, err := get(schemas, "codeDefaultFlag")
	if err != nil {
		return err
	}
	cdf["not"] = map[string]any{"required": []any{"value"}}
	// 3. evaluationFailure.errorCode: also FLAG_NOT_FOUND.
	ec, err := get(schemas, "evaluationFailure", "properties", "errorCode")
	if err != nil {
		return err
	}
	ec["enum"] = append(ec["enum"].([]any), "FLAG_NOT_FOUND")
	// 4. Retry-After: integer seconds too.
	for _, p := range []string{"/ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags"} {
		h, err := get(m, "paths", p, "post", "responses", "429", "headers", "Retry-After")
		if err != nil {
			return err
		}
		h["schema"] = map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "format": "date-time"},
			map[string]any{"type": "integer"},
		}}
	}
	return nil
}

// Validate checks one OFREP response to req.
func (s *Spec) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	path := req.URL.Path
	var pattern string
	params := map[string]string{}
	switch {
	case path == "/ofrep/v1/evaluate/flags":
		pattern = path
	case strings.HasPrefix(path, "/ofrep/v1/evaluate/flags/"):
		pattern = "/ofrep/v1/evaluate/flags/{key}"
		params["key"] = strings.TrimPrefix(path, "/ofrep/v1/evaluate/flags/")
	default:
		return fmt.Errorf("%s is not an OFREP path", path)
	}
	item := s.doc.Paths.Value(pattern)
	if item == nil || item.Post == nil {
		return fmt.Errorf("spec has no POST %s", pattern)
	}
	route := &routers.Route{Spec: s.doc, Path: pattern, PathItem: item, Method: http.MethodPost, Operation: item.Post}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %s -> %d %s: %w", req.Method, path, status, body, err)
	}
	s.Validated.Add(1)
	return nil
}

// Transport validates every response to an OFREP path that passes
// through it, failing t on the first violation.
func (s *Spec) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{spec: s, t: t, base: base}
}

type transport struct {
	spec *Spec
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/ofrep/") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := tr.spec.Validate(req, resp.StatusCode, resp.Header, body); err != nil {
		tr.t.Errorf("OFREP response violates the spec: %v", err)
	}
	return resp, nil
}
