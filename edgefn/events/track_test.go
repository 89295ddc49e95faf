package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/events"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// site is an edgefn handler with tracking and exposures on a fixture.
type site struct {
	t   *testing.T
	env *fixture.Env
	w   *events.Writer
	x   *events.Exposures
	h   http.Handler
	st  *flakyStore
}

// flakyStore fails every Put while down.
type flakyStore struct {
	events.Store
	down bool
}

func (f *flakyStore) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	if f.down {
		return fmt.Errorf("store down")
	}
	return f.Store.Put(ctx, key, data, cond)
}

func newSite(t *testing.T, cfg events.Config) *site {
	t.Helper()
	env := fixture.New(t)
	st := &flakyStore{Store: env.Store}
	cfg.Store, cfg.Project, cfg.Environment, cfg.Now = st, fixture.Project, fixture.Environment, env.Now
	w, err := events.NewWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := &events.Exposures{Writer: w, Environment: fixture.Environment, ServerMetadata: func(flag string) []ir.Meta {
		return env.Source.Current().Server.Engine.Evaluate(flag, nil, env.Now()).Metadata
	}}
	h := env.Handler(func(c *api.Config) {
		c.Track = &events.Track{Writer: w, Now: env.Now}
		c.Exposures = x
	})
	return &site{t: t, env: env, w: w, x: x, h: h, st: st}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("%d %s: %v", a.status, a.body, err)
	}
	return m
}

func (s *site) do(method, path, body string, hdr ...string) answer {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// stored reads back the events written so far (after Flush).
func (s *site) stored() []eventlog.Event {
	s.t.Helper()
	if err := s.w.Flush(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	var out []eventlog.Event
	sc := &eventlog.Scan{Store: s.env.Store, Project: fixture.Project, Env: fixture.Environment, Kind: eventlog.KindEvents,
		From: fixture.T0.Add(-24 * time.Hour), To: fixture.T0.Add(24 * time.Hour),
		Bad: func(k string, l int, err error) { s.t.Errorf("%s:%d: %v", k, l, err) }}
	if _, err := sc.Events(context.Background(), eventlog.DecodeOptions{}, func(_ string, e *eventlog.Event) error { out = append(out, *e); return nil }); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func ts(d time.Duration) string { return fixture.T0.Add(d).Format(time.RFC3339Nano) }

func TestTrackWithClientToken(t *testing.T) {
	s := newSite(t, events.Config{})
	tok := s.env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"track"}})
	body := `{"events":[
	  {"id":"a","type":"exposure","flagKey":"button-color","variant":"green","timestamp":"` + ts(-time.Minute) + `","unit":"someone-else"},
	  {"id":"b","type":"conversion","name":"purchase","timestamp":"` + ts(0) + `","value":12.5,"attributes":{"plan":"pro","items":3,"gift":false}},
	  {"id":"a","type":"exposure","flagKey":"button-color","variant":"green","timestamp":"` + ts(-time.Minute) + `"},
	  {"id":"c","type":"conversion","timestamp":"` + ts(0) + `"},
	  {"id":"d","type":"custom","name":"n","timestamp":"` + ts(-8*24*time.Hour) + `"},
	  {"id":"e","type":"custom","name":"n","timestamp":"` + ts(10*time.Minute) + `"},
	  {"id":"f","type":"click","timestamp":"` + ts(0) + `"},
	  {"id":"g","type":"custom","name":"n","timestamp":"yesterday"},
	  {"id":"h","type":"custom","name":"n","timestamp":"` + ts(0) + `","colour":"red"},
	  {"id":"i","type":"exposure","flagKey":"no such/flag","variant":"v","timestamp":"` + ts(0) + `"},
	  {"id":"j","type":"custom","name":"line\nbreak","timestamp":"` + ts(0) + `"},
	  {"id":"k","type":"custom","name":"n","timestamp":"` + ts(0) + `","attributes":{"nested":{"x":1}}},
	  {"id":"l","type":"custom","name":"n","timestamp":"` + ts(0) + `","value":"12"},
	  "not an event"
	]}`
	a := s.do("POST", "/v1/track", body, bearer(tok)...)
	if a.status != 202 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var ans events.TrackAnswer
	if err := json.Unmarshal([]byte(a.body), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Accepted != 2 || ans.Duplicates != 1 || len(ans.Rejected) != 11 {
		t.Fatalf("%+v", ans)
	}
	want := map[int]string{3: "name: required", 4: "more than 168h0m0s before now", 5: "after now", 6: `"click" is not exposure`, 7: "not an RFC 3339 time",
		8: `unknown field "colour"`, 9: "is not URL-safe", 10: "control characters", 11: "must be a string, number or boolean",
		12: "value: must be a number", 13: "must be a JSON object"}
	for _, r := range ans.Rejected {
		if !strings.Contains(r.Error, want[r.Index]) || want[r.Index] == "" {
			t.Errorf("rejection %d: %q, want %q", r.Index, r.Error, want[r.Index])
		}
	}
	// The same request again: all duplicates.
	a = s.do("POST", "/v1/track", body, bearer(tok)...)
	if m := a.json(t); a.status != 202 || m["accepted"] != 0.0 || m["duplicates"] != 3.0 {
		t.Fatalf("repeat: %d %s", a.status, a.body)
	}
	got := s.stored()
	if len(got) != 2 {
		t.Fatalf("%d stored", len(got))
	}
	for _, e := range got {
		if e.Unit != "u-1" || e.Source != eventlog.SourceTrack || !e.Received.Equal(fixture.T0) {
			t.Fatalf("stored %+v", e)
		}
	}
	if got[1].Value == nil || *got[1].Value != 12.5 || got[1].Attributes["items"] != 3.0 || got[1].Attributes["gift"] != false {
		t.Fatalf("conversion %+v", got[1])
	}
}

func TestTrackAuthAndBadBodies(t *testing.T) {
	s := newSite(t, events.Config{})
	key := []string{"X-API-Key", fixture.Backend}
	one := func(unit string) string {
		u := ""
		if unit != "" {
			u = `,"unit":"` + unit + `"`
		}
		return `{"events":[{"id":"1","type":"custom","name":"n","timestamp":"` + ts(0) + `"` + u + `}]}`
	}
	if a := s.do("POST", "/v1/track", one("u-9"), key...); a.status != 202 || a.json(t)["accepted"] != 1.0 {
		t.Fatalf("server key: %d %s", a.status, a.body)
	}
	if a := s.do("POST", "/v1/track", one(""), key...); a.status != 202 || !strings.Contains(a.body, "unit: required with an API key") {
		t.Fatalf("server key without unit: %d %s", a.status, a.body)
	}
	cases := []struct {
		name   string
		body   string
		hdr    []string
		status int
		msg    string
	}{
		{"no credentials", one("u"), nil, 401, ""},
		{"key without events:write", one("u"), []string{"X-API-Key", fixture.Reader}, 403, ""},
		{"token without track", one("u"), bearer(s.env.Mint(auth.TokenRequest{Subject: "u", Scopes: []string{"bootstrap"}})), 403, ""},
		{"not JSON", `{"events":[`, key, 400, `"invalid_json","message":"parse body`},
		{"duplicate member", `{"events":[],"events":[]}`, key, 400, "duplicate"},
		{"unknown top field", `{"events":[],"more":1}`, key, 400, `"unknown_field"`},
		{"no events", `{}`, key, 400, `"invalid_field","message":"events: required`},
		{"too many", `{"events":[` + strings.Repeat(`{},`, events.MaxEvents) + `{}]}`, key, 400, "at most 1000"},
		{"too large", `{"events":["` + strings.Repeat("x", api.MaxBody) + `"]}`, key, 413, ""},
	}
	for _, c := range cases {
		a := s.do("POST", "/v1/track", c.body, c.hdr...)
		if a.status != c.status || !strings.Contains(a.body, c.msg) {
			t.Errorf("%s: %d %s", c.name, a.status, a.body)
		}
	}
	req := httptest.NewRequest("POST", "/v1/track", strings.NewReader(one("u")))
	req.Header.Set("X-API-Key", fixture.Backend)
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != 415 {
		t.Fatalf("text/plain: %d", rec.Code)
	}
}

func TestTrackFullBuffer503(t *testing.T) {
	s := newSite(t, events.Config{MaxBuffered: 3, MaxBatchEvents: 2})
	s.st.down = true
	key := []string{"X-API-Key", fixture.Backend}
	body := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, `{"id":"`+id+`","type":"custom","name":"n","unit":"u","timestamp":"`+ts(0)+`"}`)
		}
		return `{"events":[` + strings.Join(parts, ",") + `]}`
	}
	if a := s.do("POST", "/v1/track", body("1", "2"), key...); a.status != 202 {
		t.Fatal(a.status, a.body)
	}
	_ = s.w.FlushDue(context.Background()) // fails: the store is down, the batch stays
	a := s.do("POST", "/v1/track", body("3", "4"), key...)
	if a.status != 503 || a.header.Get("Retry-After") == "" || a.json(t)["error"] != "busy" {
		t.Fatalf("full: %d %v %s", a.status, a.header, a.body)
	}
	s.st.down = false
	s.env.SetNow(fixture.T0.Add(time.Second)) // the writer retries the batch
	if err := s.w.FlushDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := s.do("POST", "/v1/track", body("3", "4"), key...); a.status != 202 || a.json(t)["accepted"] != 2.0 {
		t.Fatalf("after recovery: %d %s", a.status, a.body)
	}
	if n := len(s.stored()); n != 4 {
		t.Fatalf("%d stored", n)
	}
}

// publishExperiment places version 2: the fixture's flags with an
// experiment on button-color (blue 50 / green 50).
func publishExperiment(t *testing.T, env *fixture.Env, start, end time.Time) {
	t.Helper()
	srv, cli := testbundle.Compile(t, testbundle.Flags, fixture.Environment)
	d := experiment.Definition{Key: "button-test", Flag: "button-color", Environment: fixture.Environment, Control: "blue",
		Treatments: []string{"green"}, Conversions: []string{"purchase"}, Start: start, End: end}
	for i := range srv.Flags {
		if srv.Flags[i].Key == d.Flag {
			d.AttachTo(&srv.Flags[i])
		}
	}
	testbundle.Place(t, env.Store, fixture.Project, fixture.Environment, testbundle.SealPair(t, srv, cli, env.BundleKey, 2, fixture.T0.Add(-time.Hour), 30*24*time.Hour))
	if err := env.Source.Refresh(context.Background()); err != nil || env.Source.Current().Version != 2 {
		t.Fatal(err)
	}
}

func TestServerSideExposures(t *testing.T) {
	s := newSite(t, events.Config{})
	publishExperiment(t, s.env, fixture.T0.Add(-time.Hour), fixture.T0.Add(time.Hour))
	key := []string{"X-API-Key", fixture.Backend}
	eval := func(unit string, hdr ...string) string {
		a := s.do("POST", "/ofrep/v1/evaluate/flags/button-color", `{"context":{"targetingKey":"`+unit+`"}}`, append(key, hdr...)...)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		m := a.json(t)
		if md, _ := m["metadata"].(map[string]any); md["experiment"] != "button-test" {
			t.Fatalf("metadata %v", m["metadata"])
		}
		return m["variant"].(string)
	}
	variants := map[string]string{}
	for i := 0; i < 20; i++ {
		u := fmt.Sprint("u", i)
		variants[u] = eval(u)
		eval(u) // again: recorded once within the window
	}
	eval("quiet", api.HeaderExposures, "off")
	// A browser evaluating with a client token: the client bundle has no
	// metadata, the server bundle names the experiment.
	tok := s.env.Mint(auth.TokenRequest{Subject: "browser", Scopes: []string{"evaluate"}})
	if a := s.do("POST", "/ofrep/v1/evaluate/flags/button-color", `{"context":{}}`, bearer(tok)...); a.status != 200 {
		t.Fatalf("token evaluate: %d %s", a.status, a.body)
	}
	// The bulk route and /v1/evaluate record too; other flags only count.
	if a := s.do("POST", "/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":"bulk"}}`, key...); a.status != 200 {
		t.Fatal(a.status, a.body)
	}
	if a := s.do("POST", "/v1/evaluate", `{"requests":[{"flagKey":"button-color","context":{"targetingKey":"batch"}},{"flagKey":"new-checkout","context":{"targetingKey":"batch"}}]}`, key...); a.status != 200 {
		t.Fatal(a.status, a.body)
	}
	// Outside the window nothing is recorded.
	s.env.SetNow(fixture.T0.Add(2 * time.Hour))
	eval("late")
	got := s.stored()
	units := map[string]bool{}
	for _, e := range got {
		if e.Source != eventlog.SourceEvaluation || e.Type != eventlog.TypeExposure || e.FlagKey != "button-color" {
			t.Fatalf("stored %+v", e)
		}
		if units[e.Unit] {
			t.Fatalf("%s recorded twice", e.Unit)
		}
		units[e.Unit] = true
		if v, ok := variants[e.Unit]; ok && v != e.Variant {
			t.Fatalf("%s: recorded %s, served %s", e.Unit, e.Variant, v)
		}
	}
	if len(got) != 23 || !units["bulk"] || !units["batch"] || !units["browser"] || units["quiet"] || units["late"] {
		t.Fatalf("%d exposures: %v", len(got), units)
	}
	// Every evaluation is counted for the analytics, quiet and late ones too.
	if st := s.w.Stats(); st.Evaluations < 20*2+1+1+1+2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExposuresOnlyFromSplits(t *testing.T) {
	s := newSite(t, events.Config{})
	d := experiment.Definition{Key: "k", Flag: "f", Environment: fixture.Environment, Control: "a", Treatments: []string{"b"},
		Conversions: []string{"c"}, Start: fixture.T0.Add(-time.Hour), End: fixture.T0.Add(time.Hour)}
	meta := d.Meta()
	at := fixture.T0
	s.x.Exposures(context.Background(), []api.Exposure{
		{Flag: "f", Variant: "a", Reason: "TARGETING_MATCH", Unit: "rule", Version: 1, Time: at, Metadata: meta},
		{Flag: "f", Variant: "a", Reason: "DEFAULT", Unit: "default", Version: 1, Time: at, Metadata: meta},
		{Flag: "f", Variant: "z", Reason: "SPLIT", Unit: "holdout", Version: 1, Time: at, Metadata: meta},
		{Flag: "f", Variant: "b", Reason: "SPLIT", Unit: "", Version: 1, Time: at, Metadata: meta},
		{Flag: "f", Variant: "b", Reason: "SPLIT", Unit: strings.Repeat("u", 300), Version: 1, Time: at, Metadata: meta},
		{Flag: "f", Variant: "b", Reason: "SPLIT", Unit: "split", Version: 1, Time: at, Metadata: meta},
	})
	got := s.stored()
	if len(got) != 1 || got[0].Unit != "split" || got[0].Variant != "b" || s.w.Stats().Evaluations != 6 {
		t.Fatalf("%+v, %+v", got, s.w.Stats())
	}
}
