package reqjson_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/reqjson"
)

// FuzzParse: Parse never panics, and whatever it accepts encoding/json
// accepts too and decodes to the same value (Parse is a strict subset).
// Seeds are real request bodies: what the OpenFeature OFREP providers send,
// the OFREP spec's examples, and the /v1/evaluate and /v1/tokens examples.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"context":{"targetingKey":"user-123","email":"user@example.com","custom-plan":"premium","country":"CA"}}`,
		`{"context":{"targetingKey":"user-456","email":"user@example.com","plan":"free","country":"CA"}}`,
		`{"context":{}}`,
		`{"context":{"targetingKey":"u-1","plan":"pro","user":{"plan":"enterprise","signupAt":"2023-05-01T00:00:00Z"},"tags":["early-adopter"],"age":34,"beta":true}}`,
		`{"environment":"production","requests":[{"flagKey":"new-checkout","defaultValue":false,"context":{"targetingKey":"u-1"}},{"flagKey":"homepage-banner","defaultValue":{"show":false}}],"options":{"includeReasons":true}}`,
		`{"subject":"u-1","flags":["new-checkout"],"attributes":{"plan":"pro"},"scopes":["bootstrap","track"],"ttlSeconds":600}`,
		`{"a":"\u00e9\ud83d\ude00","b":-1.5e-3,"c":[null,true,false,0]}`,
		`{"a":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := reqjson.Parse(data, reqjson.Limits{})
		if err != nil {
			if _, ok := err.(*reqjson.Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var w any
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatalf("Parse accepted %q, encoding/json rejects it: %v", data, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("Parse(%q) = %#v, encoding/json = %#v", data, v, w)
		}
	})
}
