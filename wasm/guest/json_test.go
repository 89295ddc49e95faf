package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// stdJSON is what encoding/json writes for v with HTML escaping off (the
// encoder `edgeflag eval` uses), without the trailing newline.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestResultMatchesEdgeflagEval: a result object has the fields, order and
// omissions of the CLI's ResultJSON, mirrored here field for field because
// publisher/cli does not build for wasip1 (where these tests are vetted);
// TestCorpusOnWazero compares with cli.ResultJSON itself.
func TestResultMatchesEdgeflagEval(t *testing.T) {
	type resultJSON struct {
		Key       string `json:"key"`
		Value     any    `json:"value"`
		Variant   string `json:"variant"`
		Reason    string `json:"reason"`
		ErrorCode string `json:"errorCode,omitempty"`
		RuleID    string `json:"ruleId,omitempty"`
		Version   uint64 `json:"version"`
	}
	for _, r := range []eval.Result{
		{Key: "f", Value: true, Variant: "on", Reason: eval.ReasonStatic, Version: 1},
		{Key: "missing", Reason: eval.ReasonError, ErrorCode: eval.CodeFlagNotFound, Version: 1<<53 - 1},
		{Key: "s", Value: map[string]any{"a": []any{1.0}}, Variant: "v<1>", Reason: eval.ReasonSplit, RuleID: "r&1", Version: 0},
		{Key: "k\u2028", Value: "x", Variant: "", Reason: eval.ReasonDefault, ErrorCode: eval.CodeTargetingKeyMissing, RuleID: "r", Version: 18446744073709551615},
		{Key: "m", Value: 1.0, Variant: "one", Reason: eval.ReasonTargetingMatch, Metadata: []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "me"}}}},
	} {
		got, ok := appendResult(nil, &r)
		if !ok {
			t.Fatalf("appendResult(%+v) refused", r)
		}
		want := stdJSON(t, resultJSON{r.Key, r.Value, r.Variant, string(r.Reason), string(r.ErrorCode), r.RuleID, r.Version})
		if !bytes.Equal(got, want) {
			t.Errorf("appendResult = %s\n        want %s", got, want)
		}
	}
}

func TestErrorObject(t *testing.T) {
	got := appendError(nil, "ErrContext", "read context: JSON: unexpected end at offset 3\n\"")
	var e struct{ Error, Message string }
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error != "ErrContext" || !strings.HasSuffix(e.Message, "offset 3\n\"") {
		t.Fatalf("appendError = %s (%v)", got, err)
	}
}
