package eventlog

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/internal/jsonscan"
)

// DecodeOptions tune DecodeLine.
type DecodeOptions struct {
	// SkipAttributes checks the attributes member but does not keep it
	// (readers that never look at attributes save its allocations).
	SkipAttributes bool
}

// DecodeLine parses one stored event line into e (overwriting it) and
// validates it. The parser is strict: one JSON object of the members
// AppendJSON writes (exact names), each at most once, times in
// TimeLayout, nothing after the object.
func DecodeLine(line []byte, e *Event, opt DecodeOptions) error {
	var d Decoder
	return d.Decode(line, e, opt)
}

// Decoder decodes many lines (DecodeLine), sharing the strings that
// repeat from line to line (types, flag keys, variants, names) instead of
// allocating them again. Not safe for concurrent use.
type Decoder struct {
	intern map[string]string
	buf    []byte
}

// maxInterned bounds the strings a Decoder keeps.
const maxInterned = 1024

// Decode is DecodeLine.
func (dec *Decoder) Decode(line []byte, e *Event, opt DecodeOptions) error {
	*e = Event{}
	if len(line) > MaxLine {
		return fmt.Errorf("decode event: line of %d bytes, longer than %d", len(line), MaxLine)
	}
	if !utf8.Valid(line) { // once for the line; strings are then valid
		return errors.New("decode event: invalid UTF-8")
	}
	d := lineDecoder{data: line, buf: dec.buf}
	defer func() { dec.buf = d.buf }()
	if err := d.event(e, opt, dec); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	if err := Validate(e); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	return nil
}

type lineDecoder struct {
	data []byte
	pos  int
	buf  []byte
}

// shared returns the interned copy of a string that tends to repeat.
func (dec *Decoder) shared(s string) string {
	if dec == nil {
		return s
	}
	if v, ok := dec.intern[s]; ok {
		return v
	}
	if dec.intern == nil {
		dec.intern = map[string]string{}
	}
	if len(dec.intern) < maxInterned {
		dec.intern[s] = s
	}
	return s
}

func (d *lineDecoder) errf(format string, args ...any) error {
	return fmt.Errorf("byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

// scanErr words an error of the scanner as errf does.
func scanErr(err error) error {
	// The scanner returns its *Error unwrapped.
	if e, ok := err.(*jsonscan.Error); ok {
		return fmt.Errorf("byte %d: %s", e.Offset, e.Msg)
	}
	return err
}

func (d *lineDecoder) space() { d.pos = jsonscan.Space(d.data, d.pos) }

func (d *lineDecoder) expect(c byte) error {
	d.space()
	if d.pos >= len(d.data) || d.data[d.pos] != c {
		return d.errf("want %q", c)
	}
	d.pos++
	return nil
}

// Member bits, for duplicate detection.
const (
	mID = 1 << iota
	mType
	mName
	mFlagKey
	mVariant
	mTimestamp
	mValue
	mUnit
	mAttributes
	mReceived
	mSource
)

// object parses one object, calling member with each member name once the
// decoder stands at its value; member must consume the value.
func (d *lineDecoder) object(member func(name string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		d.space()
		name, err := d.name()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		d.space()
		if d.pos >= len(d.data) {
			return d.errf("unterminated object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.errf("want ',' or '}'")
		}
	}
}

// once records member bit in seen, refusing a second occurrence.
func (d *lineDecoder) once(seen *int, bit int, name string) error {
	if *seen&bit != 0 {
		return d.errf("duplicate member %q", name)
	}
	*seen |= bit
	return nil
}

func (d *lineDecoder) event(e *Event, opt DecodeOptions, dec *Decoder) error {
	seen := 0
	err := d.object(func(name string) error {
		var bit int
		var err error
		switch name {
		case "id":
			bit = mID
			e.ID, err = d.str()
		case "type":
			bit = mType
			e.Type, err = d.sharedStr(dec)
		case "name":
			bit = mName
			e.Name, err = d.sharedStr(dec)
		case "flagKey":
			bit = mFlagKey
			e.FlagKey, err = d.sharedStr(dec)
		case "variant":
			bit = mVariant
			e.Variant, err = d.sharedStr(dec)
		case "timestamp":
			bit = mTimestamp
			e.Timestamp, err = d.time()
		case "value":
			bit = mValue
			var v float64
			v, err = d.number()
			e.Value = &v
		case "unit":
			bit = mUnit
			e.Unit, err = d.str()
		case "attributes":
			bit = mAttributes
			err = d.attributes(e, opt.SkipAttributes)
		case "received":
			bit = mReceived
			e.Received, err = d.time()
		case "source":
			bit = mSource
			e.Source, err = d.sharedStr(dec)
		default:
			return d.errf("unknown member %q", clip(name))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return d.once(&seen, bit, name)
	})
	if err != nil {
		return err
	}
	if seen != 0 && seen&mReceived == 0 {
		return errors.New("received: required")
	}
	return d.end()
}

func (d *lineDecoder) end() error {
	d.space()
	if d.pos != len(d.data) {
		return d.errf("unexpected data after the object")
	}
	return nil
}

func (d *lineDecoder) attributes(e *Event, skip bool) error {
	var attrs map[string]any
	if !skip {
		attrs = map[string]any{}
	}
	seen := map[string]struct{}{}
	err := d.object(func(k string) error {
		if _, dup := seen[k]; dup {
			return d.errf("duplicate member %q", clip(k))
		}
		seen[k] = struct{}{}
		if len(seen) > MaxAttributes {
			return fmt.Errorf("more than %d members", MaxAttributes)
		}
		d.space()
		if d.pos >= len(d.data) {
			return d.errf("missing value")
		}
		var v any
		var err error
		switch c := d.data[d.pos]; {
		case c == '"':
			v, err = d.str()
		case c == 't' || c == 'f':
			v, err = d.boolean()
		case c == '-' || c >= '0' && c <= '9':
			v, err = d.number()
		default:
			return d.errf("attribute %q: want a string, number or boolean", clip(k))
		}
		if err != nil {
			return err
		}
		if attrs != nil {
			attrs[k] = v
			return nil
		}
		return checkAttribute(k, v)
	})
	if err == nil && len(seen) > 0 {
		e.Attributes = attrs // {} is no attributes, as AppendJSON writes it
	}
	return err
}

func (d *lineDecoder) boolean() (bool, error) {
	word := "true"
	if d.data[d.pos] == 'f' {
		word = "false"
	}
	end, err := jsonscan.Literal(d.data, d.pos, word)
	if err != nil {
		return false, scanErr(err)
	}
	d.pos = end
	return word == "true", nil
}

// number parses a JSON number.
func (d *lineDecoder) number() (float64, error) {
	d.space()
	end, err := jsonscan.Number(d.data, d.pos)
	if err != nil {
		return 0, scanErr(err)
	}
	f, err := strconv.ParseFloat(string(d.data[d.pos:end]), 64)
	if err != nil {
		return 0, d.errf("invalid number")
	}
	d.pos = end
	return f, nil
}

// time parses a string in TimeLayout.
func (d *lineDecoder) time() (time.Time, error) {
	d.space()
	// "2006-01-02T15:04:05.000Z" with quotes: 26 bytes.
	if d.pos+26 > len(d.data) || d.data[d.pos] != '"' || d.data[d.pos+25] != '"' {
		return time.Time{}, d.errf("want a time like %q", TimeLayout)
	}
	t, ok := parseTime(d.data[d.pos+1 : d.pos+25])
	if !ok {
		return time.Time{}, d.errf("want a time like %q", TimeLayout)
	}
	d.pos += 26
	return t, nil
}

// parseTime parses exactly TimeLayout.
func parseTime(b []byte) (time.Time, bool) {
	if len(b) != 24 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for j := i; j < i+n; j++ {
			c := b[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	dd, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	s, ok6 := num(17, 2)
	ms, ok7 := num(20, 3)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || dd < 1 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), dd, h, mi, s, ms*int(time.Millisecond), time.UTC)
	if t.Day() != dd { // 2026-02-30 normalizes to March
		return time.Time{}, false
	}
	return t, true
}

// sharedStr parses a string, interned by dec.
func (d *lineDecoder) sharedStr(dec *Decoder) (string, error) {
	b, err := d.content()
	if err != nil {
		return "", err
	}
	if dec != nil {
		if v, ok := dec.intern[string(b)]; ok { // no allocation
			return v, nil
		}
	}
	return dec.shared(string(b)), nil
}

// name parses a member name, without allocating for the known ones.
func (d *lineDecoder) name() (string, error) {
	b, err := d.content()
	if err != nil {
		return "", err
	}
	for _, k := range memberNames {
		if string(b) == k {
			return k, nil
		}
	}
	return string(b), nil
}

var memberNames = [...]string{"id", "type", "name", "flagKey", "variant", "timestamp", "value", "unit", "attributes", "received", "source",
	"hour", "flag", "reason", "count"}

// str parses a JSON string.
func (d *lineDecoder) str() (string, error) {
	b, err := d.content()
	return string(b), err
}

// content parses a JSON string and returns its content: a slice of the
// line, or of d.buf when it has escapes (valid until the next string). The
// whole line is valid UTF-8, and unescaping keeps it so (lone surrogates
// are refused).
func (d *lineDecoder) content() ([]byte, error) {
	d.space()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.errf("want a string")
	}
	end, out, err := jsonscan.String(d.data, d.pos, d.buf, 0, 0)
	if err != nil {
		return nil, scanErr(err)
	}
	b := d.data[d.pos+1 : end-1]
	if out != nil {
		d.buf, b = out, out
	}
	d.pos = end
	return b, nil
}
