// Package config loads a flags-as-code directory (format v1, see
// docs/config.md) into one merged Document whose values keep the file, line
// and column they came from, and reports every problem it finds as a
// positioned Diagnostic.
package config

import (
	"sort"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// DefaultBundleTTL is an environment's bundle offline validity when its
// bundleTTL is not given.
const DefaultBundleTTL = 720 * time.Hour

// Document is the merged content of a config directory.
type Document struct {
	// Files are the file names loaded, sorted.
	Files []string

	// Project is the project name; ProjectPos where it was given.
	Project    string
	ProjectPos Pos

	// Environments in declaration order.
	Environments []*Environment

	// Context holds the declared attribute types, sorted by name. HasContext
	// is true when a `context:` section was given (even empty): then
	// attributes not declared there are lint errors.
	Context    []*Attribute
	HasContext bool

	// Segments sorted by name.
	Segments []*Segment
	// Flags sorted by key.
	Flags []*Flag
	// Webhooks sorted by name.
	Webhooks []*Webhook
	// Experiments sorted by key.
	Experiments []*Experiment
}

// Experiment is one entry of `experiments:`: a comparison of a flag's
// variants in one environment (docs/experiments.md).
type Experiment struct {
	Key string
	Pos Pos
	// Flag is the flag whose variants are compared.
	Flag Ref
	// Environment is where the experiment runs.
	Environment Ref
	// Control is the baseline variant; Treatments the compared ones.
	Control    Ref
	Treatments []Ref
	// TreatmentsPos is where `treatments:` was written.
	TreatmentsPos Pos
	// Conversions are the event names that count as a conversion.
	Conversions    []Ref
	ConversionsPos Pos
	// Start and End bound the experiment: [Start, End).
	Start, End       time.Time
	StartPos, EndPos Pos
	// MinimumSample is the number of exposed units per variant before
	// results are final (DefaultMinimumSample unless given).
	MinimumSample    int
	MinimumSamplePos Pos
}

// DefaultMinimumSample is an experiment's minimumSample when not given.
const DefaultMinimumSample = 100

// Environment is one declared environment.
type Environment struct {
	Name string
	Pos  Pos
	// Protected environments refuse publish and rollback without a reason.
	Protected bool
	// BundleTTL is the offline validity of bundles (exp - iat);
	// DefaultBundleTTL unless configured.
	BundleTTL time.Duration
}

// AttrType is a declared context attribute type.
type AttrType string

// Attribute types accepted in `context:`.
const (
	AttrString    AttrType = "string"
	AttrNumber    AttrType = "number"
	AttrBool      AttrType = "bool"
	AttrSemver    AttrType = "semver"
	AttrTimestamp AttrType = "timestamp"
	AttrList      AttrType = "list"
	// AttrDyn declares an attribute without fixing its type (checked at
	// evaluation time).
	AttrDyn AttrType = "dyn"
)

// Attribute is one declared context attribute.
type Attribute struct {
	Name string
	Type AttrType
	Pos  Pos
}

// Segment is a named condition: a `when` expression, a static key list, or
// both (a context is in the segment when either matches).
type Segment struct {
	Name string
	Pos  Pos
	// When is the rule-based condition, or nil.
	When *Expr
	// Attribute is the attribute looked up in Keys ("targetingKey" when not
	// given); AttributePos is where it was given (zero when defaulted).
	Attribute    string
	AttributePos Pos
	// Keys is the static key list in declaration order; HasKeys is true when
	// `keys:` was given.
	Keys    []string
	KeysPos Pos
	HasKeys bool
}

// Status is a flag's lifecycle status.
type Status string

// Flag statuses.
const (
	StatusActive   Status = "active"
	StatusDraft    Status = "draft"
	StatusArchived Status = "archived"
)

// Flag is one flag definition.
type Flag struct {
	Key     string
	Pos     Pos
	Type    ir.FlagType // 0 when missing or invalid (already diagnosed)
	TypePos Pos

	Description string
	Owner       string

	// Expires is the last day (UTC) the flag is expected to live, or the
	// zero time.
	Expires    time.Time
	ExpiresPos Pos

	Status    Status // StatusActive unless given
	StatusPos Pos

	ClientSide bool

	// Variants in declaration order. For boolean flags without a
	// `variants:` section they are the implicit {on: true, off: false}
	// (ImplicitVariants is then true).
	Variants         []*Variant
	VariantsPos      Pos
	ImplicitVariants bool

	// DefaultVariant is required, except for boolean flags where it
	// defaults to "off".
	DefaultVariant Ref
	// OffVariant defaults to DefaultVariant (Name "" when not given).
	OffVariant Ref

	// Environments are the per-environment blocks, in declaration order.
	Environments    []*FlagEnv
	EnvironmentsPos Pos
}

// Variant is a named flag value.
type Variant struct {
	Name string
	Pos  Pos
	// Value is the canonical JSON encoding of the value (object keys sorted,
	// numbers in Go's shortest float64 form).
	Value []byte
}

// Ref is a reference by name (to a variant) with where it was written.
type Ref struct {
	Name string
	Pos  Pos
}

// FlagEnv is a flag's configuration for one environment.
type FlagEnv struct {
	Name string
	Pos  Pos
	// Enabled defaults to true when the environment block is present.
	Enabled bool
	Rules   []*Rule
	// Default is the env's `default:`, or nil (serve defaultVariant).
	Default *Serve
}

// Rule is one targeting rule.
type Rule struct {
	// Name is the rule name, or "" when unnamed; NamePos where it was given.
	Name    string
	NamePos Pos
	Pos     Pos // the rule's list item
	When    *Expr
	Serve   Serve
}

// Serve is one variant or a weighted split.
type Serve struct {
	Pos Pos
	// Variant is set for `serve:`.
	Variant Ref
	// Split is set for `split:`, in declaration order.
	Split    []*Weight
	SplitPos Pos
	// BucketBy is the bucketing attribute ("" = targetingKey).
	BucketBy    string
	BucketByPos Pos
}

// IsSplit reports whether the serve is a split.
func (s *Serve) IsSplit() bool { return s.Variant.Name == "" }

// Weight is one arm of a split. Weight is kept as written (negative values
// are reported by lint and rejected by the compiler).
type Weight struct {
	Variant string
	Pos     Pos
	Weight  int64
}

// Webhook is one configured webhook.
type Webhook struct {
	Name string
	Pos  Pos
	URL  string
	// Secret is a reference: "env:NAME" or "file:PATH", never the secret.
	Secret string
	Events []string
	// Environments limits the webhook to these environments; empty = all.
	Environments    []Ref
	EnvironmentsPos Pos
}

// WebhookEvents returns the event names a webhook may subscribe to, in a
// new slice each call (the default of a webhook's `events:`).
func WebhookEvents() []string { return []string{"publish", "rollback"} }

// Expr is an expression source with the position of each of its bytes in
// the file, so errors relative to the expression can be reported at the
// right file:line:col whatever the YAML quoting or block style.
type Expr struct {
	Src string
	Pos Pos // the YAML scalar
	// offs[i] is the file line/col of Src[i]; nil when it could not be
	// computed (then Pos is used).
	offs []lineCol
}

type lineCol struct{ line, col int32 }

// PosAt maps a 1-based line and column within Src (columns count code
// points) to a file position.
func (e *Expr) PosAt(line, col int) Pos {
	if e.offs == nil || line < 1 || col < 1 {
		return e.Pos
	}
	off, l, c := 0, 1, 1
	for off < len(e.Src) && (l < line || (l == line && c < col)) {
		r := e.Src[off]
		if r == '\n' {
			if l == line {
				break
			}
			l++
			c = 1
			off++
			continue
		}
		off += runeLen(e.Src[off:])
		c++
	}
	if off >= len(e.offs) {
		if len(e.offs) == 0 {
			return e.Pos
		}
		lc := e.offs[len(e.offs)-1]
		return Pos{File: e.Pos.File, Line: int(lc.line), Col: int(lc.col) + 1}
	}
	lc := e.offs[off]
	return Pos{File: e.Pos.File, Line: int(lc.line), Col: int(lc.col)}
}

func runeLen(s string) int {
	for i := range s {
		if i > 0 {
			return i
		}
	}
	return len(s)
}

// Environment returns the declared environment with the given name, or nil.
func (d *Document) Environment(name string) *Environment {
	for _, e := range d.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Flag returns the flag with the given key, or nil.
func (d *Document) Flag(key string) *Flag {
	i := sort.Search(len(d.Flags), func(i int) bool { return d.Flags[i].Key >= key })
	if i < len(d.Flags) && d.Flags[i].Key == key {
		return d.Flags[i]
	}
	return nil
}
