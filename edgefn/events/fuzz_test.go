package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// FuzzParseTrack: any body either is refused as a whole, or splits into
// valid events and rejections that together cover every item; stored
// events always decode back.
func FuzzParseTrack(f *testing.F) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Add([]byte(`{"events":[{"id":"a","type":"exposure","flagKey":"f","variant":"v","timestamp":"2026-12-01T11:59:00Z"}]}`), "u-1")
	f.Add([]byte(`{"events":[{"id":"b","type":"conversion","name":"purchase","timestamp":"2026-12-01T12:00:00.5+01:00","value":1e3,"unit":"x","attributes":{"a":"b","n":1,"t":true}}]}`), "")
	f.Add([]byte(`{"events":[{"id":"c","type":"custom","name":"\u00e9\ud83d\ude00","timestamp":"2026-11-30T12:00:00Z"},1,null,"x",[]]}`), "")
	f.Add([]byte(`{"events":[],"events":[]}`), "s")
	f.Fuzz(func(t *testing.T, body []byte, subject string) {
		evs, rej, err := ParseTrack(body, subject, now)
		if err != nil {
			return
		}
		var doc struct {
			Events []json.RawMessage `json:"events"`
		}
		if jerr := json.Unmarshal(body, &doc); jerr != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, jerr)
		}
		if len(evs)+len(rej) != len(doc.Events) {
			t.Fatalf("%d events + %d rejections for %d items", len(evs), len(rej), len(doc.Events))
		}
		for i := range evs {
			e := evs[i]
			e.Received = now
			if subject != "" && e.Unit != subject {
				t.Fatalf("unit %q, subject %q", e.Unit, subject)
			}
			var back eventlog.Event
			if err := eventlog.DecodeLine(e.AppendJSON(nil), &back, eventlog.DecodeOptions{}); err != nil {
				t.Fatalf("event %+v does not decode: %v", e, err)
			}
		}
	})
}
