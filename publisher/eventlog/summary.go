package eventlog

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Summary is one evaluation-count record: how many evaluations of Flag
// served Variant with Reason during the UTC hour starting at Hour, as
// counted by one writer. Records are additive: the count of an hour is the
// sum over every record (a writer may flush one hour in several parts).
type Summary struct {
	Hour                  time.Time
	Flag, Variant, Reason string
	Count                 uint64
}

// CompareSummaries orders summaries by hour, flag, variant and reason
// (for slices.SortFunc): the order writers and readers list them in.
func CompareSummaries(a, b Summary) int {
	if c := a.Hour.Compare(b.Hour); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Flag, b.Flag), cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.Reason, b.Reason))
}

// MaxReasonLen bounds a reason name.
const MaxReasonLen = 32

// ValidateSummary checks a summary's fields.
func ValidateSummary(s *Summary) error {
	if s.Hour.IsZero() || !s.Hour.Equal(HourOf(s.Hour)) {
		return errors.New("hour: want the start of a UTC hour")
	}
	if s.Flag == "" {
		return errors.New("flag: required")
	}
	if err := checkName("flag", s.Flag); err != nil {
		return err
	}
	if s.Variant != "" {
		if err := checkName("variant", s.Variant); err != nil {
			return err
		}
	}
	if s.Reason == "" || len(s.Reason) > MaxReasonLen {
		return fmt.Errorf("reason: want 1 to %d bytes", MaxReasonLen)
	}
	for i := 0; i < len(s.Reason); i++ {
		if c := s.Reason[i]; !(c >= 'A' && c <= 'Z' || c == '_') {
			return fmt.Errorf("reason: %q is not an upper-case reason name", clip(s.Reason))
		}
	}
	if s.Count == 0 {
		return errors.New("count: must be positive")
	}
	return nil
}

// AppendJSON appends the summary's line (no newline).
func (s *Summary) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"hour":"`...)
	buf = s.Hour.UTC().AppendFormat(buf, TimeLayout)
	buf = append(buf, `","flag":`...)
	buf = appendString(buf, s.Flag)
	buf = append(buf, `,"variant":`...)
	buf = appendString(buf, s.Variant)
	buf = append(buf, `,"reason":`...)
	buf = appendString(buf, s.Reason)
	buf = append(buf, `,"count":`...)
	buf = strconv.AppendUint(buf, s.Count, 10)
	return append(buf, '}')
}

// DecodeSummaryLine parses one stored summary line, strictly (as
// DecodeLine does for events), and validates it.
func DecodeSummaryLine(line []byte, s *Summary) error {
	*s = Summary{}
	if len(line) > MaxLine {
		return fmt.Errorf("decode summary: line of %d bytes, longer than %d", len(line), MaxLine)
	}
	if !utf8.Valid(line) {
		return errors.New("decode summary: invalid UTF-8")
	}
	d := lineDecoder{data: line}
	if err := d.summary(s); err != nil {
		return fmt.Errorf("decode summary: %w", err)
	}
	if err := ValidateSummary(s); err != nil {
		return fmt.Errorf("decode summary: %w", err)
	}
	return nil
}

func (d *lineDecoder) summary(s *Summary) error {
	const (
		sHour = 1 << iota
		sFlag
		sVariant
		sReason
		sCount
		sAll = sHour | sFlag | sVariant | sReason | sCount
	)
	seen := 0
	err := d.object(func(name string) error {
		var bit int
		var err error
		switch name {
		case "hour":
			bit = sHour
			s.Hour, err = d.time()
		case "flag":
			bit = sFlag
			s.Flag, err = d.str()
		case "variant":
			bit = sVariant
			s.Variant, err = d.str()
		case "reason":
			bit = sReason
			s.Reason, err = d.str()
		case "count":
			bit = sCount
			var f float64
			f, err = d.number()
			if err == nil && (f < 1 || f > 1<<53 || f != float64(uint64(f))) {
				err = errors.New("want a positive integer")
			}
			s.Count = uint64(f)
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
	if seen != sAll {
		return errors.New("want the members hour, flag, variant, reason and count")
	}
	return d.end()
}
