package eventlog

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeLine: whatever a store holds, the decoder either refuses it or
// returns a valid event that re-encodes to a line it decodes identically;
// everything it accepts is standard JSON.
func FuzzDecodeLine(f *testing.F) {
	e := sample()
	f.Add(e.AppendJSON(nil))
	x := Event{ID: "x", Type: TypeExposure, FlagKey: "f", Variant: "v", Timestamp: t0, Unit: "u", Received: t0, Source: SourceEvaluation}
	f.Add(x.AppendJSON(nil))
	f.Add([]byte(`{"id":"a\u00e9","type":"custom","name":"\ud83d\ude00","timestamp":"2026-12-01T10:30:00.123Z","value":-0.5e-3,"unit":"u","attributes":{},"received":"2026-12-01T10:30:00.123Z","source":"track"}`))
	f.Add([]byte(`{"hour":"2026-12-01T10:00:00.000Z","flag":"f","variant":"on","reason":"SPLIT","count":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		if err := DecodeLine(data, &e, DecodeOptions{}); err == nil {
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			line := e.AppendJSON(nil)
			var again Event
			if err := DecodeLine(line, &again, DecodeOptions{}); err != nil || !reflect.DeepEqual(again, e) {
				t.Fatalf("re-encode of %q: %s: %v", data, line, err)
			}
		}
		var s Summary
		if err := DecodeSummaryLine(data, &s); err == nil {
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			var again Summary
			if err := DecodeSummaryLine(s.AppendJSON(nil), &again); err != nil || again != s || again.Hour.Location() != time.UTC {
				t.Fatalf("re-encode of %q: %v", data, err)
			}
		}
	})
}
