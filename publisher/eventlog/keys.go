package eventlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what a batch holds.
type Kind string

// Batch kinds: the folder under <project>/<env>/.
const (
	KindEvents    Kind = "events"
	KindAnalytics Kind = "analytics"
)

// BatchSuffix ends every batch key.
const BatchSuffix = ".ndjson.zst"

// MaxWriterLen is the longest writer id.
const MaxWriterLen = 64

// CheckWriter validates a writer id: 1..MaxWriterLen bytes of lower-case
// letters, digits, '.' and '_' (no '-': it separates the id from the
// sequence number in a key).
func CheckWriter(id string) error {
	if id == "" || len(id) > MaxWriterLen {
		return fmt.Errorf("writer id %q: want 1 to %d bytes", clip(id), MaxWriterLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') || (i == 0 && c == '.') {
			return fmt.Errorf("writer id %q: only lower-case letters, digits, '.' and '_' (not first) are allowed", clip(id))
		}
	}
	return nil
}

// Prefix is the folder of one kind of batches of an environment:
// "<project>/<env>/<kind>/".
func Prefix(project, env string, kind Kind) string {
	return project + "/" + env + "/" + string(kind) + "/"
}

// DayPrefix is the folder of one UTC day: "<project>/<env>/<kind>/dt=YYYY-MM-DD/".
func DayPrefix(project, env string, kind Kind, day time.Time) string {
	return Prefix(project, env, kind) + "dt=" + day.UTC().Format("2006-01-02") + "/"
}

// BatchKey is the key of a batch: the hour's partition folder, then
// "<writer>-<seq, 20 digits>.ndjson.zst".
func BatchKey(project, env string, kind Kind, hour time.Time, writer string, seq uint64) string {
	h := hour.UTC()
	return fmt.Sprintf("%sdt=%s/hr=%02d/%s-%020d%s", Prefix(project, env, kind), h.Format("2006-01-02"), h.Hour(), writer, seq, BatchSuffix)
}

// BatchName is a parsed batch key.
type BatchName struct {
	Project, Env string
	Kind         Kind
	// Hour is the partition: the start of a UTC hour.
	Hour   time.Time
	Writer string
	Seq    uint64
}

// ParseBatchKey parses a key BatchKey made.
func ParseBatchKey(key string) (BatchName, error) {
	var b BatchName
	parts := strings.Split(key, "/")
	if len(parts) != 6 {
		return b, fmt.Errorf("parse batch key %q: want <project>/<env>/<kind>/dt=YYYY-MM-DD/hr=HH/<writer>-<seq>%s", clip(key), BatchSuffix)
	}
	b.Project, b.Env, b.Kind = parts[0], parts[1], Kind(parts[2])
	if b.Kind != KindEvents && b.Kind != KindAnalytics {
		return b, fmt.Errorf("parse batch key %q: unknown kind %q", clip(key), clip(parts[2]))
	}
	day, ok := strings.CutPrefix(parts[3], "dt=")
	hr, ok2 := strings.CutPrefix(parts[4], "hr=")
	if !ok || !ok2 || len(hr) != 2 {
		return b, fmt.Errorf("parse batch key %q: bad partition folders", clip(key))
	}
	d, err := time.Parse("2006-01-02", day)
	h, err2 := strconv.Atoi(hr)
	if err != nil || err2 != nil || h < 0 || h > 23 || hr[0] == '+' || hr[0] == '-' {
		return b, fmt.Errorf("parse batch key %q: bad partition folders", clip(key))
	}
	b.Hour = d.Add(time.Duration(h) * time.Hour)
	name, ok := strings.CutSuffix(parts[5], BatchSuffix)
	i := strings.LastIndexByte(name, '-')
	if !ok || i < 0 {
		return b, fmt.Errorf("parse batch key %q: want <writer>-<seq>%s", clip(key), BatchSuffix)
	}
	b.Writer = name[:i]
	if err := CheckWriter(b.Writer); err != nil {
		return b, fmt.Errorf("parse batch key %q: %w", clip(key), err)
	}
	seq := name[i+1:]
	if len(seq) != 20 {
		return b, fmt.Errorf("parse batch key %q: the sequence number must have 20 digits", clip(key))
	}
	b.Seq, err = strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return b, fmt.Errorf("parse batch key %q: bad sequence number", clip(key))
	}
	return b, nil
}

// HourOf is the start of t's UTC hour.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// ErrNotBatch reports a key under a batch folder that is not a batch.
var ErrNotBatch = errors.New("not a batch")
