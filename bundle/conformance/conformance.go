// Package conformance holds edgeflag's golden evaluation corpus
// (testdata/*.json) and a runner any Go-hosted runtime can reuse: the
// native engine (this package's tests), the wasm module under wazero, and
// whatever else must agree with them byte for byte.
//
// A corpus file is one Suite: a flags-as-code config (as JSON), the
// environment and audience it is compiled for, the resulting encoded bundle
// (base64) and a list of Cases, each a flag key, a context, an evaluation
// time and the expected result. The file format is documented in README.md.
//
// Unlike bundle/eval and bundle/ir, this package does IO (os,
// encoding/json); it is not part of the engine's purity fence.
package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Case kinds.
const (
	// KindOne evaluates one flag (Evaluate, or EvaluateType when Case.Type
	// is set). It is the default when a case names no kind.
	KindOne = "one"
	// KindAll evaluates every flag of the bundle (EvaluateAll) and expects
	// the results in key order.
	KindAll = "all"
)

// Suite is one corpus file.
type Suite struct {
	// Path is the file the suite was read from (not part of the JSON).
	Path string `json:"-"`
	// Description says what the file covers.
	Description string `json:"description"`
	// Config is the flags-as-code document (docs/config.md) as JSON; the
	// Go test compiles it and checks that it reproduces Bundle exactly.
	Config json.RawMessage `json:"config"`
	// Environment is the environment the bundle is compiled for.
	Environment string `json:"environment"`
	// Audience is "server" or "client".
	Audience string `json:"audience"`
	// Now is the default evaluation time (RFC 3339) of cases without one.
	Now string `json:"now,omitempty"`
	// Bundle is the ir.Encode encoding of the compiled config (base64 in
	// JSON). Non-Go runtimes read only Bundle and Cases.
	Bundle []byte `json:"bundle"`
	// BundleSHA256 is the lowercase hex SHA-256 of Bundle.
	BundleSHA256 string `json:"bundleSha256"`
	// Cases are the evaluations to run against Bundle.
	Cases []Case `json:"cases"`
}

// Case is one evaluation and its expected result.
type Case struct {
	// Name identifies the case within its file (unique per file).
	Name string `json:"name"`
	// Kind is KindOne (default when empty) or KindAll.
	Kind string `json:"kind,omitempty"`
	// Flag is the flag key evaluated (KindOne).
	Flag string `json:"flag,omitempty"`
	// Type, when set, is the flag type the caller expects ("boolean",
	// "string", "number", "object"): the case calls EvaluateType.
	Type string `json:"type,omitempty"`
	// Context is the evaluation context as decoded from JSON (numbers are
	// float64).
	Context map[string]any `json:"context"`
	// Now is the evaluation time (RFC 3339); empty means Suite.Now.
	Now string `json:"now,omitempty"`
	// Expect is the expected result of a KindOne case.
	Expect *Result `json:"expect,omitempty"`
	// ExpectAll is the expected result list of a KindAll case, in key order.
	ExpectAll []Result `json:"expectAll,omitempty"`
}

// Result is an evaluation result as the corpus records it. Value is raw
// JSON (null when the engine returns no value) and is compared canonically.
type Result struct {
	// Key is the flag key; required in ExpectAll entries, optional in
	// Expect (checked when given).
	Key string `json:"key,omitempty"`
	// Value is the served value as JSON.
	Value json.RawMessage `json:"value"`
	// Variant is the served variant name ("" on errors).
	Variant string `json:"variant"`
	// Reason is the OpenFeature reason (STATIC, DEFAULT, TARGETING_MATCH,
	// SPLIT, DISABLED, ERROR).
	Reason string `json:"reason"`
	// ErrorCode is the error code, or "" for none.
	ErrorCode string `json:"errorCode,omitempty"`
	// RuleID is the matching rule's id, or "".
	RuleID string `json:"ruleId,omitempty"`
}

// Evaluator runs one case of a suite on some runtime and returns what the
// runtime produced: one Result for a KindOne case, one per flag (key order)
// for a KindAll case. An error means the runtime could not run the case at
// all (a load failure, a crashed module), not a wrong result.
type Evaluator interface {
	Evaluate(s *Suite, c *Case) ([]Result, error)
}

// Failure is one case that did not pass.
type Failure struct {
	File string
	Case string
	Err  error
}

// Error formats the failure as "file: case: problem".
func (f Failure) Error() string { return f.File + ": " + f.Case + ": " + f.Err.Error() }

// LoadFile reads and checks one corpus file.
func LoadFile(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read suite: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// LoadDir reads every *.json file directly in dir, in name order.
func LoadDir(dir string) ([]*Suite, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list suites: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("list suites: no *.json files in %s", dir)
	}
	sort.Strings(names)
	var out []*Suite
	for _, n := range names {
		s, err := LoadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Parse decodes and checks one corpus file's content: unknown fields,
// missing required fields, duplicate case names, bad times and a bundle
// that does not match its digest are errors.
func Parse(data []byte) (*Suite, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode suite: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode suite: trailing data after the JSON object")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Suite) check() error {
	if _, ok := ir.ParseAudience(s.Audience); !ok {
		return fmt.Errorf("check suite: audience %q: want \"server\" or \"client\"", s.Audience)
	}
	if s.Environment == "" {
		return errors.New("check suite: environment: missing")
	}
	if len(s.Bundle) > 0 {
		sum := sha256.Sum256(s.Bundle)
		if hex.EncodeToString(sum[:]) != s.BundleSHA256 {
			return errors.New("check suite: bundleSha256 does not match bundle")
		}
	}
	if s.Now != "" {
		if _, err := parseTime(s.Now); err != nil {
			return fmt.Errorf("check suite: now: %w", err)
		}
	}
	seen := map[string]bool{}
	for i := range s.Cases {
		c := &s.Cases[i]
		if c.Name == "" {
			return fmt.Errorf("check suite: cases[%d]: name: missing", i)
		}
		if seen[c.Name] {
			return fmt.Errorf("check suite: case %q: name used twice", c.Name)
		}
		seen[c.Name] = true
		if err := c.check(s); err != nil {
			return fmt.Errorf("check suite: case %q: %w", c.Name, err)
		}
	}
	return nil
}

func (c *Case) check(s *Suite) error {
	if _, err := c.Time(s); err != nil {
		return err
	}
	switch c.Kind {
	case "", KindOne:
		if c.Flag == "" {
			return errors.New("flag: missing")
		}
		if c.Expect == nil || c.ExpectAll != nil {
			return errors.New("a one-flag case needs expect (and no expectAll)")
		}
		if c.Type != "" {
			if _, err := FlagType(c.Type); err != nil {
				return err
			}
		}
		return c.Expect.check()
	case KindAll:
		if c.Flag != "" || c.Type != "" || c.Expect != nil {
			return errors.New("an all case takes no flag, type or expect")
		}
		for i := range c.ExpectAll {
			if c.ExpectAll[i].Key == "" {
				return fmt.Errorf("expectAll[%d]: key: missing", i)
			}
			if err := c.ExpectAll[i].check(); err != nil {
				return fmt.Errorf("expectAll[%d]: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("kind %q: want %q or %q", c.Kind, KindOne, KindAll)
}

func (r *Result) check() error {
	if len(r.Value) == 0 {
		return errors.New("value: missing (write null for no value)")
	}
	if _, err := Canonical(r.Value); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if r.Reason == "" {
		return errors.New("reason: missing")
	}
	return nil
}

// Time returns the case's evaluation time (its own, else the suite's).
func (c *Case) Time(s *Suite) (time.Time, error) {
	v := c.Now
	if v == "" {
		v = s.Now
	}
	if v == "" {
		return time.Time{}, errors.New("now: missing (in the case and the suite)")
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("now: %w", err)
	}
	return t, nil
}

func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time: %w", err)
	}
	return t, nil
}

// FlagType maps a corpus type name to the IR flag type.
func FlagType(name string) (ir.FlagType, error) {
	if t, ok := ir.ParseFlagType(name); ok {
		return t, nil
	}
	return 0, fmt.Errorf("parse type: %q is not boolean, string, number or object", name)
}

// Check compares what a runtime produced for case c with the expectation:
// variant, reason, error code and rule id exactly; values as canonical JSON
// (so 1 and 1.0 are equal, "1" and 1 are not).
func Check(c *Case, got []Result) error {
	if c.Kind == KindAll {
		if len(got) != len(c.ExpectAll) {
			return fmt.Errorf("got %d results, want %d (got keys %s)", len(got), len(c.ExpectAll), keysOf(got))
		}
		var errs []error
		for i := range got {
			if got[i].Key != c.ExpectAll[i].Key {
				errs = append(errs, fmt.Errorf("result %d: key %q, want %q", i, got[i].Key, c.ExpectAll[i].Key))
				continue
			}
			if err := compare(&c.ExpectAll[i], &got[i]); err != nil {
				errs = append(errs, fmt.Errorf("flag %q: %w", got[i].Key, err))
			}
		}
		return errors.Join(errs...)
	}
	if len(got) != 1 {
		return fmt.Errorf("got %d results, want 1", len(got))
	}
	if c.Expect.Key != "" && got[0].Key != c.Expect.Key {
		return fmt.Errorf("key %q, want %q", got[0].Key, c.Expect.Key)
	}
	return compare(c.Expect, &got[0])
}

func keysOf(rs []Result) string {
	ks := make([]string, len(rs))
	for i := range rs {
		ks[i] = rs[i].Key
	}
	return "[" + strings.Join(ks, ", ") + "]"
}

func compare(want, got *Result) error {
	var diffs []string
	wv, err := Canonical(want.Value)
	if err != nil {
		return fmt.Errorf("expected value: %w", err)
	}
	gv, err := Canonical(got.Value)
	if err != nil {
		return fmt.Errorf("got value %q: %w", got.Value, err)
	}
	if !bytes.Equal(wv, gv) {
		diffs = append(diffs, fmt.Sprintf("value %s, want %s", gv, wv))
	}
	if got.Variant != want.Variant {
		diffs = append(diffs, fmt.Sprintf("variant %q, want %q", got.Variant, want.Variant))
	}
	if got.Reason != want.Reason {
		diffs = append(diffs, fmt.Sprintf("reason %s, want %s", got.Reason, want.Reason))
	}
	if got.ErrorCode != want.ErrorCode {
		diffs = append(diffs, fmt.Sprintf("errorCode %q, want %q", got.ErrorCode, want.ErrorCode))
	}
	if got.RuleID != want.RuleID {
		diffs = append(diffs, fmt.Sprintf("ruleId %q, want %q", got.RuleID, want.RuleID))
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// Run runs every case of every suite through ev and returns the failures
// (nil when all pass).
func Run(suites []*Suite, ev Evaluator) []Failure {
	var out []Failure
	for _, s := range suites {
		for i := range s.Cases {
			c := &s.Cases[i]
			got, err := ev.Evaluate(s, c)
			if err == nil {
				err = Check(c, got)
			} else {
				err = fmt.Errorf("evaluate: %w", err)
			}
			if err != nil {
				out = append(out, Failure{File: s.Path, Case: c.Name, Err: err})
			}
		}
	}
	return out
}

// Canonical re-encodes a JSON value canonically: object keys sorted,
// numbers as the shortest decimal of their float64 value (so 1, 1.0 and
// 1e0 are all "1"), strings with encoding/json's escaping, no spaces.
func Canonical(raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode value: trailing data")
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("encode value: number %s is not a finite double", x)
		}
		if f == 0 {
			f = 0 // -0 is 0
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case string:
		e, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("encode value: %w", err)
		}
		b.Write(e)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			e, err := json.Marshal(k)
			if err != nil {
				return fmt.Errorf("encode value: %w", err)
			}
			b.Write(e)
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("encode value: unexpected %T", v)
	}
	return nil
}
