package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
)

// fuzzTarget drives the real handler in-process with fuzzed bodies on one
// route and checks that every answer is a JSON 2xx/4xx, and on OFREP
// routes that it validates against the OFREP spec.
func fuzzTarget(f *testing.F, path string, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	env := fixture.New(f)
	h := env.Handler(func(c *api.Config) {
		c.Rates = map[string]*auth.Rate{api.RouteOFREP: nil, api.RouteOFREPBulk: nil, api.RouteEvaluate: nil, api.RouteTokens: nil}
	})
	tok := env.Mint(auth.TokenRequest{Subject: "u-1", Flags: []string{"new-checkout", "banner"}, Attributes: map[string]any{"plan": "pro"}, Scopes: []string{"evaluate"}})
	spec := ofrepspec.Load(f)
	f.Fuzz(func(t *testing.T, body []byte, asToken bool) {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if asToken && path != "/v1/tokens" {
			req.Header.Set("Authorization", "Bearer "+tok)
		} else {
			req.Header.Set("X-API-Key", fixture.Backend)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%q -> %d %s", body, w.Code, w.Body.Bytes())
		}
		if w.Header().Get("Content-Type") != "application/json" || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%q -> %d non-JSON %q", body, w.Code, w.Body.Bytes())
		}
		if path != "/v1/evaluate" && path != "/v1/tokens" {
			if err := spec.Validate(req, w.Code, w.Header(), w.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		if w.Code == http.StatusOK && path == "/v1/evaluate" {
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["results"] == nil {
				t.Fatalf("evaluate 200 without results: %s", w.Body.Bytes())
			}
		}
	})
}

// Seeds: what the OpenFeature providers send, the OFREP spec's request
// examples, and the examples of docs/api.md.
var ofrepSeeds = []string{
	`{"context":{"targetingKey":"user-123","email":"user@example.com","custom-plan":"premium","country":"CA"}}`,
	`{"context":{"targetingKey":"user-456","email":"user@example.com","plan":"free","country":"CA"}}`,
	`{"context":{}}`,
	`{"context":{"plan":"pro","age":18,"country":"US","user":{"plan":"enterprise"},"tags":["a"]}}`,
	`{"context":{"targetingKey":42}}`,
	`{}`,
}

func FuzzOFREPSingle(f *testing.F) {
	fuzzTarget(f, "/ofrep/v1/evaluate/flags/new-checkout", ofrepSeeds)
}

func FuzzOFREPBulk(f *testing.F) {
	fuzzTarget(f, "/ofrep/v1/evaluate/flags", ofrepSeeds)
}

func FuzzEvaluate(f *testing.F) {
	fuzzTarget(f, "/v1/evaluate", []string{
		`{"environment":"production","requests":[{"flagKey":"new-checkout","defaultValue":false,"context":{"targetingKey":"u-1","plan":"pro"}},{"flagKey":"banner","defaultValue":{"show":false}}],"options":{"includeReasons":true}}`,
		`{"requests":[{"flagKey":"retry-limit","defaultValue":3,"context":{"age":20}},{"flagKey":"missing","defaultValue":"x"}]}`,
		`{"requests":[{"flagKey":"button-color"}]}`,
	})
}

func FuzzTokens(f *testing.F) {
	fuzzTarget(f, "/v1/tokens", []string{
		`{"subject":"u-1","flags":["new-checkout"],"attributes":{"plan":"pro"},"scopes":["bootstrap","track"],"ttlSeconds":600}`,
		`{"subject":"u-2","scopes":["evaluate"]}`,
		`{"subject":"u-3","scopes":["bootstrap"],"flags":[],"ttlSeconds":3600}`,
	})
}
