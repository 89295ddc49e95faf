package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/reqjson"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
)

// MaxEvents is the most events one POST /v1/track accepts.
const MaxEvents = 1000

// trackLimits bound the parse of a track body (at most api.MaxBody bytes,
// enforced by the handler in front). Within them, what breaks the event
// limits (a long string, a nested attribute) refuses that event with a
// reason; beyond them (strings over 4096 bytes, nesting over 6 levels)
// the request is refused.
var trackLimits = reqjson.Limits{MaxDepth: 6, MaxValues: (MaxEvents+1)*(len(eventFields)+eventlog.MaxAttributes+1) + 8, MaxString: 4096}

// eventFields are the members an event of the track body may have.
var eventFields = []string{"id", "type", "name", "flagKey", "variant", "timestamp", "value", "unit", "attributes"}

// Track serves POST /v1/track behind edgefn's authentication (api.Config.Track).
type Track struct {
	Writer *Writer
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Rejection is one refused event of a track answer.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// TrackAnswer is the 202 answer.
type TrackAnswer struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	body, _ := json.Marshal(map[string]string{"error": code, "message": msg, "requestId": w.Header().Get("X-Request-Id")})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// ServeHTTP validates, deduplicates and buffers the events of one request.
func (t *Track) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok || (p.Key == nil && p.Token == nil) {
		fail(w, http.StatusInternalServerError, "internal", "track handler called without a caller")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
			return
		}
		fail(w, http.StatusBadRequest, "bad_request", "read request body: "+err.Error())
		return
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	subject := ""
	if p.Token != nil {
		subject = p.Token.Subject
		if subject == "" {
			fail(w, http.StatusForbidden, "forbidden", "this client token has no subject to track events for")
			return
		}
	}
	evs, rejected, perr := ParseTrack(body, subject, now())
	if perr != nil {
		code := "invalid_field"
		var be *BodyError
		if errors.As(perr, &be) {
			code = be.Code
		}
		fail(w, http.StatusBadRequest, code, perr.Error())
		return
	}
	ans := TrackAnswer{Rejected: rejected}
	if len(evs) > 0 {
		accepted, dups, err := t.Writer.Add(evs)
		if errors.Is(err, ErrFull) {
			secs := int(math.Ceil(t.Writer.RetryAfter().Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			fail(w, http.StatusServiceUnavailable, "busy", fmt.Sprintf("the event buffer is full (the store is slow or down); nothing of this request was accepted: retry after %d s", secs))
			if t.Logger != nil {
				t.Logger.Warn("event buffer full: track request refused", "events", len(evs), "caller", p.ID())
			}
			return
		}
		if err != nil {
			fail(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		ans.Accepted, ans.Duplicates = accepted, dups
	}
	w.Header().Set("Cache-Control", "no-store")
	data, _ := json.Marshal(ans)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(append(data, '\n'))
}

// BodyError is a track body refused as a whole; Code is the API error
// code (invalid_json, unknown_field, invalid_field).
type BodyError struct {
	Code, Msg string
}

func (e *BodyError) Error() string { return e.Msg }

func bodyErr(code, format string, args ...any) error {
	return &BodyError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ParseTrack reads a track body: {"events": [...]}, at most MaxEvents.
// Each event is validated on its own; the refused ones come back as
// rejections with their index and reason, the others as events ready for
// Writer.Add (source "track", timestamps in UTC milliseconds). With a
// client token, subject is its subject and is every event's unit (a unit
// in the body is ignored); with an API key (subject "") each event names
// its unit. An error is a body that is not such a document at all (400).
func ParseTrack(body []byte, subject string, now time.Time) ([]eventlog.Event, []Rejection, error) {
	doc, err := reqjson.Parse(body, trackLimits)
	if err != nil {
		return nil, nil, bodyErr("invalid_json", "parse body: %v", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, bodyErr("invalid_json", `the body must be a JSON object {"events": [...]}`)
	}
	for k := range top {
		if k != "events" {
			return nil, nil, bodyErr("unknown_field", "unknown field %q (the body is {\"events\": [...]})", clip(k))
		}
	}
	list, ok := top["events"].([]any)
	if !ok {
		return nil, nil, bodyErr("invalid_field", `events: required, a list of events`)
	}
	if len(list) > MaxEvents {
		return nil, nil, bodyErr("invalid_field", "events: %d events, at most %d per request", len(list), MaxEvents)
	}
	evs := make([]eventlog.Event, 0, len(list))
	rejected := []Rejection{}
	for i, item := range list {
		e, err := parseEvent(item, subject, now)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		evs = append(evs, e)
	}
	return evs, rejected, nil
}

func parseEvent(item any, subject string, now time.Time) (eventlog.Event, error) {
	var e eventlog.Event
	m, ok := item.(map[string]any)
	if !ok {
		return e, errors.New("an event must be a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one reason for the same mistakes, whatever the order
	for _, k := range keys {
		known := false
		for _, f := range eventFields {
			known = known || f == k
		}
		if !known {
			return e, fmt.Errorf("unknown field %q (fields: id, type, name, flagKey, variant, timestamp, value, unit, attributes)", clip(k))
		}
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: must be a string", k)
		}
		return s, nil
	}
	var err error
	for _, f := range []struct {
		k string
		p *string
	}{{"id", &e.ID}, {"type", &e.Type}, {"name", &e.Name}, {"flagKey", &e.FlagKey}, {"variant", &e.Variant}} {
		if *f.p, err = str(f.k); err != nil {
			return e, err
		}
	}
	ts, err := str("timestamp")
	if err != nil {
		return e, err
	}
	if ts == "" {
		return e, errors.New("timestamp: required (RFC 3339, e.g. 2026-12-01T10:00:00Z)")
	}
	t, perr := time.Parse(time.RFC3339Nano, ts)
	if perr != nil {
		return e, fmt.Errorf("timestamp: %q is not an RFC 3339 time (e.g. 2026-12-01T10:00:00Z)", clip(ts))
	}
	t = t.UTC().Truncate(time.Millisecond)
	switch {
	case t.Before(now.Add(-eventlog.MaxPast)):
		return e, fmt.Errorf("timestamp: %s is more than %v before now: events older than 7 days are refused", ts, eventlog.MaxPast)
	case t.After(now.Add(eventlog.MaxFuture)):
		return e, fmt.Errorf("timestamp: %s is more than %v after now: check the sender's clock", ts, eventlog.MaxFuture)
	}
	e.Timestamp = t
	if v, ok := m["value"]; ok {
		f, ok := v.(float64)
		if !ok {
			return e, errors.New("value: must be a number")
		}
		e.Value = &f
	}
	if v, ok := m["attributes"]; ok {
		attrs, ok := v.(map[string]any)
		if !ok {
			return e, errors.New("attributes: must be an object of strings, numbers and booleans")
		}
		e.Attributes = attrs
	}
	if subject != "" {
		e.Unit = subject // the token's subject, never the body's
	} else {
		if e.Unit, err = str("unit"); err != nil {
			return e, err
		}
		if e.Unit == "" {
			return e, errors.New("unit: required with an API key (client tokens track for their subject)")
		}
	}
	e.Source = eventlog.SourceTrack
	if err := eventlog.Validate(&e); err != nil {
		return e, err
	}
	return e, nil
}

// clip shortens s for an error message, at a character boundary.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 61
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
