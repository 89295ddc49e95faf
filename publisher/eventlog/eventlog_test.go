package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

func ptr(f float64) *float64 { return &f }

var t0 = time.Date(2026, 12, 1, 10, 30, 0, 123_000_000, time.UTC)

func sample() Event {
	return Event{ID: "e-1", Type: TypeConversion, Name: "purchase \"big\" é", Timestamp: t0, Value: ptr(12.5), Unit: "u-1",
		Attributes: map[string]any{"plan": "pro", "n": 3.0, "beta": true}, Received: t0.Add(time.Second), Source: SourceTrack}
}

func TestRoundTrip(t *testing.T) {
	cases := []Event{
		sample(),
		{ID: "x", Type: TypeExposure, FlagKey: "checkout-color", Variant: "green", Timestamp: t0, Unit: "ü", Received: t0, Source: SourceEvaluation},
		{ID: "y", Type: TypeCustom, Name: "n", Timestamp: t0, Value: ptr(-1e-7), Unit: "u", Received: t0, Source: SourceTrack},
		{ID: "z", Type: TypeCustom, Name: "n", Timestamp: t0, Value: ptr(1e15), Unit: "u", Received: t0, Source: SourceTrack},
	}
	for i, e := range cases {
		line := e.AppendJSON(nil)
		var got Event
		if err := DecodeLine(line, &got, DecodeOptions{}); err != nil {
			t.Fatalf("case %d: %s: %v", i, line, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("case %d: round trip\n got %+v\nwant %+v", i, got, e)
		}
		// encoding/json reads the same values: the line is standard JSON.
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("case %d: encoding/json: %v", i, err)
		}
		if m["id"] != e.ID || m["unit"] != e.Unit || m["timestamp"] != FormatTime(e.Timestamp) {
			t.Fatalf("case %d: encoding/json sees %v", i, m)
		}
		if e.Value != nil && m["value"] != *e.Value {
			t.Fatalf("case %d: value %v, want %v", i, m["value"], *e.Value)
		}
		if e.Name != "" && m["name"] != e.Name {
			t.Fatalf("case %d: name %q", i, m["name"])
		}
		var skip Event
		if err := DecodeLine(line, &skip, DecodeOptions{SkipAttributes: true}); err != nil || skip.Attributes != nil || skip.ID != e.ID {
			t.Fatalf("case %d: skip attributes: %v %+v", i, err, skip)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "q\"b\\s", "nl\n\r\t\x01\x7f", "line\u2028sep\u2029", "é€😀", "bad\xffutf8"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Fatalf("%q -> %s -> %q", s, b, got)
		}
		if bytes.ContainsAny(b, "\n\r\u2028\u2029") {
			t.Fatalf("%q -> %s: raw line separator", s, b)
		}
	}
}

func TestMembersInOrder(t *testing.T) {
	e := sample()
	e.FlagKey, e.Variant = "f", "v"
	line := e.AppendJSON(nil)
	dec := json.NewDecoder(bytes.NewReader(line))
	var got []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				depth++
			} else if v == '}' {
				depth--
			}
		case string:
			if depth == 1 && dec.More() && len(got) < 64 {
				got = append(got, v)
				// skip the value
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(Members, ",") {
		t.Fatalf("members %v, want %v", got, Members)
	}
}

func TestTimesSortAsText(t *testing.T) {
	a := time.Date(2026, 12, 1, 9, 59, 59, 999_000_000, time.UTC)
	b := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("x", 3600)) // 09:00Z
	c := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if !(FormatTime(b) < FormatTime(a) && FormatTime(a) < FormatTime(c)) || FormatTime(b) != "2026-12-01T09:00:00.000Z" {
		t.Fatalf("%s %s %s", FormatTime(a), FormatTime(b), FormatTime(c))
	}
}

func TestDecodeRejects(t *testing.T) {
	se := sample()
	good := string(se.AppendJSON(nil))
	cases := map[string]string{
		"duplicate member":  strings.Replace(good, `"unit":"u-1"`, `"unit":"u-1","unit":"u-2"`, 1),
		"unknown member":    strings.Replace(good, `"unit":"u-1"`, `"unit":"u-1","extra":1`, 1),
		"other case":        strings.Replace(good, `"unit":`, `"Unit":`, 1),
		"trailing data":     good + "{}",
		"bad time":          strings.Replace(good, `2026-12-01T10:30:00.123Z`, `2026-12-01T10:30:00Z`, 1),
		"bad date":          strings.Replace(good, `2026-12-01T10:30:00.123Z`, `2026-02-30T10:30:00.123Z`, 1),
		"no received":       strings.Replace(good, `,"received":"2026-12-01T10:30:01.123Z"`, ``, 1),
		"bad source":        strings.Replace(good, `"source":"track"`, `"source":"x"`, 1),
		"nested attribute":  strings.Replace(good, `"plan":"pro"`, `"plan":{"a":1}`, 1),
		"null attribute":    strings.Replace(good, `"plan":"pro"`, `"plan":null`, 1),
		"dup attribute":     strings.Replace(good, `"plan":"pro"`, `"plan":"pro","plan":"x"`, 1),
		"lone surrogate":    strings.Replace(good, `"unit":"u-1"`, `"unit":"\ud800"`, 1),
		"newline in name":   strings.Replace(good, `"name":"purchase`, `"name":"pur\nchase`, 1),
		"raw control":       strings.Replace(good, `"unit":"u-1"`, "\"unit\":\"u\x01\"", 1),
		"invalid utf-8":     strings.Replace(good, `"unit":"u-1"`, "\"unit\":\"\xff\"", 1),
		"no id":             strings.Replace(good, `"id":"e-1",`, ``, 1),
		"space in id":       strings.Replace(good, `"id":"e-1"`, `"id":"e 1"`, 1),
		"exposure no flag":  `{"id":"a","type":"exposure","variant":"v","timestamp":"2026-12-01T10:30:00.123Z","unit":"u","received":"2026-12-01T10:30:00.123Z","source":"track"}`,
		"bad flag key":      `{"id":"a","type":"exposure","flagKey":"a b","variant":"v","timestamp":"2026-12-01T10:30:00.123Z","unit":"u","received":"2026-12-01T10:30:00.123Z","source":"track"}`,
		"huge value":        strings.Replace(good, `"value":12.5`, `"value":1e16`, 1),
		"leading zero":      strings.Replace(good, `"value":12.5`, `"value":012.5`, 1),
		"not an object":     `[1]`,
		"empty":             ``,
		"unterminated":      good[:len(good)-1],
		"type missing":      strings.Replace(good, `"type":"conversion",`, ``, 1),
		"conversion noname": strings.Replace(good, `"name":"purchase \"big\" é",`, ``, 1),
	}
	for name, line := range cases {
		var e Event
		if err := DecodeLine([]byte(line), &e, DecodeOptions{}); err == nil {
			t.Errorf("%s: accepted %s", name, line)
		}
	}
	long := `{"id":"` + strings.Repeat("a", MaxLine) + `"}`
	var e Event
	if err := DecodeLine([]byte(long), &e, DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("long line: %v", err)
	}
}

func TestValidate(t *testing.T) {
	mod := func(f func(*Event)) *Event { e := sample(); f(&e); return &e }
	bad := map[string]*Event{
		"NaN value": mod(func(e *Event) { e.Value = ptr(math.NaN()) }),
		"inf value": mod(func(e *Event) { e.Value = ptr(math.Inf(1)) }),
		"too many attrs": mod(func(e *Event) {
			e.Attributes = map[string]any{}
			for i := 0; i <= MaxAttributes; i++ {
				e.Attributes[fmt.Sprint("k", i)] = 1.0
			}
		}),
		"long attr value": mod(func(e *Event) { e.Attributes = map[string]any{"k": strings.Repeat("x", MaxAttrValueLen+1)} }),
		"attr list":       mod(func(e *Event) { e.Attributes = map[string]any{"k": []any{}} }),
		"year 1":          mod(func(e *Event) { e.Timestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) }),
		"no timestamp":    mod(func(e *Event) { e.Timestamp = time.Time{} }),
		"long unit":       mod(func(e *Event) { e.Unit = strings.Repeat("u", MaxUnitLen+1) }),
		"tab in unit":     mod(func(e *Event) { e.Unit = "a\tb" }),
		"C1 control":      mod(func(e *Event) { e.Unit = "a\u0085b" }),
		"unknown type":    mod(func(e *Event) { e.Type = "click" }),
		"long name":       mod(func(e *Event) { e.Name = strings.Repeat("n", MaxNameLen+1) }),
		"variant charset": mod(func(e *Event) { e.Variant = "a/b" }),
	}
	for name, e := range bad {
		if err := Validate(e); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	e := sample()
	if err := Validate(&e); err != nil {
		t.Fatal(err)
	}
}

func TestBatchKeys(t *testing.T) {
	h := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	k := BatchKey("shop", "production", KindEvents, h.Add(59*time.Minute), "a1b2c3", 42)
	if k != "shop/production/events/dt=2026-12-01/hr=07/a1b2c3-00000000000000000042.ndjson.zst" {
		t.Fatal(k)
	}
	b, err := ParseBatchKey(k)
	if err != nil || b != (BatchName{Project: "shop", Env: "production", Kind: KindEvents, Hour: h, Writer: "a1b2c3", Seq: 42}) {
		t.Fatalf("%+v %v", b, err)
	}
	for _, bad := range []string{
		"shop/production/events/dt=2026-12-01/hr=24/a-00000000000000000042.ndjson.zst",
		"shop/production/events/dt=2026-13-01/hr=07/a-00000000000000000042.ndjson.zst",
		"shop/production/events/dt=2026-12-01/hr=7/a-00000000000000000042.ndjson.zst",
		"shop/production/events/dt=2026-12-01/hr=07/a-42.ndjson.zst",
		"shop/production/events/dt=2026-12-01/hr=07/A-00000000000000000042.ndjson.zst",
		"shop/production/events/dt=2026-12-01/hr=07/a-00000000000000000042.ndjson",
		"shop/production/other/dt=2026-12-01/hr=07/a-00000000000000000042.ndjson.zst",
		"shop/production/events/dt=2026-12-01/hr=07/x/a-00000000000000000042.ndjson.zst",
	} {
		if _, err := ParseBatchKey(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	for _, bad := range []string{"", "a-b", "A", ".a", strings.Repeat("a", MaxWriterLen+1)} {
		if CheckWriter(bad) == nil {
			t.Errorf("writer %q accepted", bad)
		}
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	s := Summary{Hour: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), Flag: "f", Variant: "on", Reason: "SPLIT", Count: 12}
	line := s.AppendJSON(nil)
	var got Summary
	if err := DecodeSummaryLine(line, &got); err != nil || got != s {
		t.Fatalf("%s: %+v %v", line, got, err)
	}
	for _, bad := range []string{
		strings.Replace(string(line), `"count":12`, `"count":0`, 1),
		strings.Replace(string(line), `"count":12`, `"count":1.5`, 1),
		strings.Replace(string(line), `07:00:00.000Z`, `07:01:00.000Z`, 1),
		strings.Replace(string(line), `"reason":"SPLIT"`, `"reason":"split"`, 1),
		strings.Replace(string(line), `,"variant":"on"`, ``, 1),
		strings.Replace(string(line), `"count":12`, `"count":12,"count":12`, 1),
	} {
		if err := DecodeSummaryLine([]byte(bad), &got); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestLineReader(t *testing.T) {
	var nd bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&nd, "line %d\n", i)
		if i%100 == 0 {
			nd.WriteString("\n")
		}
	}
	r := NewLineReader()
	for round := 0; round < 2; round++ { // Reset reuses the reader
		if err := r.Reset(Compress(nd.Bytes())); err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			line, _, ok := r.Next()
			if !ok {
				break
			}
			if string(line) != fmt.Sprintf("line %d", n) {
				t.Fatalf("line %d: %q", n, line)
			}
			n++
		}
		if r.Err() != nil || n != 1000 {
			t.Fatalf("%d lines, %v", n, r.Err())
		}
	}
	// Garbage and truncation are errors, not silence.
	if err := r.Reset([]byte("not zstd")); err == nil {
		if _, _, ok := r.Next(); ok || r.Err() == nil {
			t.Fatal("garbage read without error")
		}
	}
	full := Compress(nd.Bytes())
	if err := r.Reset(full[:len(full)/2]); err == nil {
		for {
			if _, _, ok := r.Next(); !ok {
				break
			}
		}
		if r.Err() == nil {
			t.Fatal("truncated batch read without error")
		}
	}
	// A line over MaxLine stops the batch with an error.
	if err := r.Reset(Compress([]byte(strings.Repeat("x", MaxLine+10) + "\n"))); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.Next(); ok || r.Err() == nil || !strings.Contains(r.Err().Error(), "longer than") {
		t.Fatalf("long line: %v", r.Err())
	}
}

func TestLineReaderBomb(t *testing.T) {
	// 8 MiB of newlines compress to a few hundred bytes: the reader stops
	// at its limit (MaxBatchDecompressed; 1 MiB here) instead of expanding
	// it all.
	bomb := Compress(bytes.Repeat([]byte{'\n'}, 8<<20))
	r := NewLineReader()
	r.max = 1 << 20
	if err := r.Reset(bomb); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.Next(); ok {
		t.Fatal("a line from only newlines")
	}
	if !errors.Is(r.Err(), ErrBatchTooLarge) {
		t.Fatalf("bomb: %v", r.Err())
	}
	if err := r.Reset(make([]byte, MaxBatchCompressed+1)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
}

func TestScan(t *testing.T) {
	st, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(k string, data []byte) {
		t.Helper()
		if err := st.Put(ctx, k, data, blob.IfNoneMatch()); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	want := 0
	for h := 22; h < 28; h++ { // across midnight
		hour := day.Add(time.Duration(h) * time.Hour)
		for w, writer := range []string{"b", "a"} {
			var nd []byte
			for i := 0; i < 3; i++ {
				e := Event{ID: fmt.Sprintf("%d-%s-%d", h, writer, i), Type: TypeCustom, Name: "n", Timestamp: hour, Unit: "u", Received: hour, Source: SourceTrack}
				nd = append(e.AppendJSON(nd), '\n')
				if h >= 23 && h < 27 {
					want++
				}
			}
			put(BatchKey("shop", "prod", KindEvents, hour, writer, uint64(w+1)), Compress(nd))
		}
	}
	// Noise: a bad line, a corrupt batch, a stray key, another env.
	hour := day.Add(24 * time.Hour)
	put(BatchKey("shop", "prod", KindEvents, hour, "c", 1), Compress([]byte("{\"bad\":1}\n")))
	put(BatchKey("shop", "prod", KindEvents, hour, "d", 1), []byte("garbage"))
	put("shop/prod/events/dt=2026-12-02/hr=00/README", []byte("x"))
	other := sample()
	put(BatchKey("shop", "other", KindEvents, hour, "a", 1), Compress(other.AppendJSON(nil)))

	var bads []string
	s := &Scan{Store: st, Project: "shop", Env: "prod", Kind: KindEvents, From: day.Add(23 * time.Hour), To: day.Add(26*time.Hour + time.Minute),
		Bad: func(key string, line int, err error) { bads = append(bads, fmt.Sprintf("%s:%d", key, line)) }}
	var ids []string
	stats, err := s.Events(ctx, DecodeOptions{}, func(key string, e *Event) error {
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != want || ids[0] != "23-a-0" || ids[3] != "23-b-0" || ids[len(ids)-1] != "26-b-2" {
		t.Fatalf("%d ids (want %d): %v", len(ids), want, ids)
	}
	wantBad := []string{
		"shop/prod/events/dt=2026-12-02/hr=00/README:0",
		"shop/prod/events/dt=2026-12-02/hr=00/c-00000000000000000001.ndjson.zst:1",
		"shop/prod/events/dt=2026-12-02/hr=00/d-00000000000000000001.ndjson.zst:0",
	}
	if !reflect.DeepEqual(bads, wantBad) || stats.BadLines != 1 || stats.BadBatches != 2 {
		t.Fatalf("bad %v, stats %+v", bads, stats)
	}
	// fn's error stops the scan.
	stop := errors.New("stop")
	n := 0
	if _, err := s.Events(ctx, DecodeOptions{}, func(string, *Event) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
	if _, err := (&Scan{Store: st, Project: "..", Env: "prod", Kind: KindEvents, From: day, To: hour}).Lines(ctx, nil); err == nil {
		t.Fatal("project .. scanned")
	}
}
