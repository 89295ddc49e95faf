// Package eventlog is the stored form of edgeflag's events and evaluation
// summaries: the record each line of a batch holds, the keys batches are
// written under, the zstd NDJSON batch encoding, and a streaming reader.
// edgefn writes it (edgefn/events); `edgeflag results` and `edgeflag
// analytics` read it, and so can Athena or DuckDB (docs/experiments.md).
//
// Layout, relative to the store's folder or key prefix:
//
//	<project>/<env>/events/dt=YYYY-MM-DD/hr=HH/<writer>-<seq>.ndjson.zst     events, create-only
//	<project>/<env>/analytics/dt=YYYY-MM-DD/hr=HH/<writer>-<seq>.ndjson.zst  evaluation counts, create-only
//
// An event batch's dt/hr is the UTC hour in which its writer received every
// event of the batch (a batch never spans two hours). A summary batch's
// dt/hr is the hour its counts belong to.
package eventlog

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/names"
)

// Event types.
const (
	TypeExposure   = "exposure"
	TypeConversion = "conversion"
	TypeCustom     = "custom"
)

// Event sources: where a stored event came from.
const (
	// SourceTrack: POST /v1/track.
	SourceTrack = "track"
	// SourceEvaluation: an exposure edgefn recorded itself when it served
	// an evaluation of a flag in a running experiment.
	SourceEvaluation = "evaluation"
)

// TimeLayout is the one format of stored times: UTC, milliseconds, "Z".
// Fixed width, so stored times compare as text in the same order as in
// time (SQL over the files needs no timestamp parsing).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Limits of one event (checked by Validate).
const (
	MaxIDLen        = 128
	MaxNameLen      = 128
	MaxKeyLen       = 128 // flagKey and variant
	MaxUnitLen      = 256
	MaxAttributes   = 32
	MaxAttrKeyLen   = 64
	MaxAttrValueLen = 256
	// MaxValue bounds |value| so that sums over many events stay exact
	// enough and every runtime can hold it.
	MaxValue = 1e15
	// MaxLine is the longest encoded event line (without its newline).
	MaxLine = 16 << 10
)

// The accepted timestamp window: edgefn accepts an event whose timestamp
// is at most MaxPast before and MaxFuture after the time it receives it,
// so an event with timestamp t is stored in a partition hour within
// [t − MaxFuture, t + MaxPast]. Readers use it to choose the partitions
// that can hold the events of a time range.
const (
	MaxPast   = 7 * 24 * time.Hour
	MaxFuture = 5 * time.Minute
)

// Event is one stored event. Times are UTC.
type Event struct {
	// ID is the producer's event id; (Unit, ID) identifies an event for
	// deduplication.
	ID string
	// Type is TypeExposure, TypeConversion or TypeCustom.
	Type string
	// Name names conversions and custom events ("purchase"); optional for
	// exposures.
	Name string
	// FlagKey and Variant: the flag and variant an exposure saw (required
	// for exposures, optional otherwise).
	FlagKey, Variant string
	// Timestamp is when the event happened, by the producer's clock.
	Timestamp time.Time
	// Value is an optional number (an order's amount).
	Value *float64
	// Unit is the experiment unit: the targetingKey the flag was
	// evaluated for (a client token's subject).
	Unit string
	// Attributes are optional string, number or boolean properties.
	Attributes map[string]any
	// Received is when edgefn accepted the event, by its clock.
	Received time.Time
	// Source is SourceTrack or SourceEvaluation.
	Source string
}

// Members are the members of a stored event line, in the order
// AppendJSON writes them (optional ones are left out when empty). The
// Athena table over the events has one column per member, lower-cased.
var Members = []string{"id", "type", "name", "flagKey", "variant", "timestamp", "value", "unit", "attributes", "received", "source"}

// FormatTime renders t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Validate checks an event's fields against the limits above. It does not
// judge timestamps against a clock (the producer side does).
func Validate(e *Event) error {
	if err := checkToken("id", e.ID, MaxIDLen); err != nil {
		return err
	}
	switch e.Type {
	case TypeExposure:
		if e.FlagKey == "" {
			return errors.New("flagKey: required for exposures")
		}
		if e.Variant == "" {
			return errors.New("variant: required for exposures")
		}
	case TypeConversion, TypeCustom:
		if e.Name == "" {
			return fmt.Errorf("name: required for %s events", e.Type)
		}
	case "":
		return errors.New("type: required (exposure, conversion or custom)")
	default:
		return fmt.Errorf("type: %q is not exposure, conversion or custom", clip(e.Type))
	}
	if e.Name != "" {
		if err := checkText("name", e.Name, MaxNameLen); err != nil {
			return err
		}
	}
	if e.FlagKey != "" {
		if err := checkName("flagKey", e.FlagKey); err != nil {
			return err
		}
	}
	if e.Variant != "" {
		if err := checkName("variant", e.Variant); err != nil {
			return err
		}
	}
	if e.Timestamp.IsZero() {
		return errors.New("timestamp: required")
	}
	if err := checkYear("timestamp", e.Timestamp); err != nil {
		return err
	}
	if !e.Received.IsZero() {
		if err := checkYear("received", e.Received); err != nil {
			return err
		}
	}
	if e.Value != nil {
		v := *e.Value
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxValue {
			return fmt.Errorf("value: %v is not a finite number of magnitude at most 1e15", v)
		}
	}
	if err := checkText("unit", e.Unit, MaxUnitLen); err != nil {
		return err
	}
	if len(e.Attributes) > MaxAttributes {
		return fmt.Errorf("attributes: %d members, at most %d", len(e.Attributes), MaxAttributes)
	}
	for k, v := range e.Attributes {
		if err := checkAttribute(k, v); err != nil {
			return err
		}
	}
	switch e.Source {
	case SourceTrack, SourceEvaluation:
	default:
		return fmt.Errorf("source: %q is not track or evaluation", clip(e.Source))
	}
	return nil
}

// checkYear keeps times within 2000..9999, which TimeLayout can hold and
// every runtime can represent.
func checkYear(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 2000 || y > 9999 {
		return fmt.Errorf("%s: year %d is out of range 2000..9999", field, y)
	}
	return nil
}

// checkAttribute checks one attribute.
func checkAttribute(k string, v any) error {
	if err := checkText("attributes key", k, MaxAttrKeyLen); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		return checkText("attributes."+clip(k), x, MaxAttrValueLen)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > MaxValue {
			return fmt.Errorf("attributes.%s: not a finite number of magnitude at most 1e15", clip(k))
		}
		return nil
	case bool:
		return nil
	default:
		return fmt.Errorf("attributes.%s: must be a string, number or boolean", clip(k))
	}
}

// checkToken accepts 1..max bytes of visible ASCII (no spaces).
func checkToken(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s: required", field)
	}
	if len(s) > max {
		return fmt.Errorf("%s: longer than %d bytes", field, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return fmt.Errorf("%s: only visible ASCII characters (no spaces) are allowed", field)
		}
	}
	return nil
}

// checkText accepts 1..max bytes of valid UTF-8 without control characters
// (no newlines, tabs or DEL), so a value can never break a log line, a
// table column or a CSV cell.
func checkText(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s: required", field)
	}
	if len(s) > max {
		return fmt.Errorf("%s: longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: invalid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%s: control characters are not allowed", field)
		}
	}
	return nil
}

// checkName accepts the names of flags and variants by the one naming
// rule the config and the stores follow (publisher/names).
func checkName(field, s string) error {
	if err := names.Check(s); err != nil {
		return fmt.Errorf("%s: %q %v", field, clip(s), err)
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// AppendJSON appends the event's line (no newline) to buf. Members come in
// a fixed order; attributes sorted by key; times in TimeLayout.
func (e *Event) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, e.ID)
	buf = append(buf, `,"type":`...)
	buf = appendString(buf, e.Type)
	if e.Name != "" {
		buf = append(buf, `,"name":`...)
		buf = appendString(buf, e.Name)
	}
	if e.FlagKey != "" {
		buf = append(buf, `,"flagKey":`...)
		buf = appendString(buf, e.FlagKey)
	}
	if e.Variant != "" {
		buf = append(buf, `,"variant":`...)
		buf = appendString(buf, e.Variant)
	}
	buf = append(buf, `,"timestamp":"`...)
	buf = e.Timestamp.UTC().AppendFormat(buf, TimeLayout)
	buf = append(buf, '"')
	if e.Value != nil {
		buf = append(buf, `,"value":`...)
		buf = appendNumber(buf, *e.Value)
	}
	buf = append(buf, `,"unit":`...)
	buf = appendString(buf, e.Unit)
	if len(e.Attributes) > 0 {
		keys := make([]string, 0, len(e.Attributes))
		for k := range e.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, `,"attributes":{`...)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			switch v := e.Attributes[k].(type) {
			case string:
				buf = appendString(buf, v)
			case float64:
				buf = appendNumber(buf, v)
			case bool:
				buf = strconv.AppendBool(buf, v)
			default:
				buf = append(buf, "null"...)
			}
		}
		buf = append(buf, '}')
	}
	buf = append(buf, `,"received":"`...)
	buf = e.Received.UTC().AppendFormat(buf, TimeLayout)
	buf = append(buf, `","source":`...)
	buf = appendString(buf, e.Source)
	return append(buf, '}')
}

// appendString and appendNumber are the one JSON writer's (bundle/ir).
var appendString = ir.AppendJSONString

func appendNumber(buf []byte, f float64) []byte {
	out, ok := ir.AppendJSONNumber(buf, f)
	if !ok {
		return append(buf, '0') // Validate refuses non-finite numbers first
	}
	return out
}
