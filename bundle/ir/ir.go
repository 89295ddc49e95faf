// Package ir defines the compiled form of an environment's flags: the
// intermediate representation (IR) that the publisher produces, that bundles
// carry (encoded by this package's Encode, before compression and signing),
// and that the engine in bundle/eval loads and runs.
//
// The IR is plain data. It holds no compiled regexes, maps or closures: the
// engine prepares those once when it loads a bundle. Everything here is
// indexed by small integers into tables held by the Bundle, so a bundle can
// be decoded with few allocations and validated by range checks alone.
//
// The package is pure Go and TinyGo-clean: it imports no IO, reflection-based
// encoder, clock or logging.
package ir

// FormatVersion is the version of the IR and of its binary encoding. A
// decoder rejects any other version.
const FormatVersion = 1

// Audience says who a bundle is for.
type Audience uint8

// Audiences.
const (
	// AudienceServer bundles hold every flag and segment, with raw keys and
	// server-only metadata.
	AudienceServer Audience = 1
	// AudienceClient bundles hold only client-side flags and the segments
	// they use, with static key lists stored as salted SHA-256 digests.
	AudienceClient Audience = 2
)

// String returns "server" or "client".
func (a Audience) String() string {
	switch a {
	case AudienceServer:
		return "server"
	case AudienceClient:
		return "client"
	}
	return "invalid"
}

// ParseAudience is the one parser of audience names: "server" or
// "client". ok is false for anything else.
func ParseAudience(s string) (a Audience, ok bool) {
	switch s {
	case "server":
		return AudienceServer, true
	case "client":
		return AudienceClient, true
	}
	return 0, false
}

// Bundle is the compiled flag set of one project environment for one
// audience.
//
// Tables are referenced by index: Node.A/B, Attribute indices, Const
// indices, Segment indices and Flag indices are all int32 positions into the
// slices below. Flags are sorted by Key and Segments by Name so that a
// bundle's encoding is deterministic and lookups can binary-search.
type Bundle struct {
	Project     string
	Environment string
	Audience    Audience

	// Attributes are the context attribute paths that expressions and
	// bucketing read, e.g. "plan", "user.plan", "targetingKey". Unique.
	Attributes []string

	// Consts is the constant pool used by OpConst (and by the string,
	// regex and list operands of other ops).
	Consts []Const

	// Nodes is the expression pool shared by every rule and segment
	// condition. A condition is the index of its root node.
	Nodes []Node

	// Args holds the operand lists of n-ary nodes (OpList): a node with
	// A=start, B=count reads Args[start:start+count], each a node index.
	Args []int32

	Segments []Segment
	Flags    []Flag
}

// Const is a constant operand. Exactly the field matching Kind is set.
type Const struct {
	Kind ConstKind
	Bool bool
	Num  float64
	Str  string
	// List holds the elements of a ConstList; elements are scalar
	// (ConstBool, ConstNum or ConstString).
	List []Const
}

// ConstKind is the type of a constant.
type ConstKind uint8

// Constant kinds. Semver and timestamp literals (semver("1.2.3"),
// timestamp("2026-01-01T00:00:00Z")) are stored as ConstString under
// OpSemver/OpTimestamp and prepared by the engine at load.
const (
	ConstNull ConstKind = iota
	ConstBool
	ConstNum
	ConstString
	ConstList
)

// Op is an expression operator. See the comment on each constant for the
// meaning of Node.A and Node.B. Value-producing ops yield a value or
// "unknown" (missing attribute, type mismatch); boolean ops yield true,
// false or unknown following CEL's commutative error semantics.
type Op uint8

// Operators.
const (
	OpInvalid Op = iota

	// Leaves.
	OpConst // A: index into Consts.
	OpAttr  // A: index into Attributes. Unknown when absent from the context.
	OpNow   // The evaluation time, a timestamp value.

	// Logic (boolean operands).
	OpNot // !A
	OpAnd // A && B
	OpOr  // A || B

	// Comparisons of two value nodes. Numbers compare numerically
	// (integers and doubles are one number type), strings by bytes,
	// semvers by precedence, timestamps by instant. Other kind pairs are
	// a type mismatch: unknown (but == and != on bool/bool are defined).
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe

	// OpIn: A in B, where B is a list-valued node (a ConstList OpConst, an
	// OpList or a list attribute).
	OpIn

	// String functions: A.fn(B) with A and B string-valued nodes.
	OpStartsWith
	OpEndsWith
	OpContains
	// OpMatches: A matches the RE2 pattern held by string constant B (an
	// index into Consts, not a node). Patterns are compiled at load.
	OpMatches

	// OpSize: size(A) of a string (in Unicode code points, as CEL), or a
	// list; a number.
	OpSize
	// OpHas: has(attr); A: index into Attributes. Never unknown.
	OpHas
	// OpSemver: semver(A), A a string node; unknown when not a valid
	// semantic version.
	OpSemver
	// OpTimestamp: timestamp(A), A a string node in RFC 3339; unknown
	// when not valid.
	OpTimestamp
	// OpInSegment: inSegment(name); A: index into Segments.
	OpInSegment
	// OpVariant: variant("flag"); A: index into Flags. The variant name
	// the other flag serves for the same context and time.
	OpVariant
	// OpList: a list literal with non-constant elements; A: start in
	// Args, B: count.
	OpList

	// OpBool: A, a value node used as a condition: true or false when it
	// is a bool, otherwise unknown. Conditions that are not already
	// boolean ops are wrapped in it by the compiler.
	OpBool

	opCount
)

// NumOps is the number of defined operators (for range checks).
const NumOps = int(opCount)

// Node is one expression node. The meaning of A and B depends on Op.
type Node struct {
	Op Op
	A  int32
	B  int32
}

// NoNode marks an absent condition or attribute reference.
const NoNode int32 = -1

// Segment is a named, reusable condition on a context.
//
// A context is in the segment when its key attribute is in the static key
// list, or when When holds. (Either may be absent.)
type Segment struct {
	Name string
	// When is the root node of the rule-based condition, or NoNode.
	When int32
	// KeyAttr is the attribute whose value is looked up in the key list
	// (an index into Attributes; the compiler uses "targetingKey" by
	// default). NoNode when the segment has no key list.
	KeyAttr int32
	// Keys is the sorted, de-duplicated static key list (server bundles).
	Keys []string
	// KeySalt and KeyDigests replace Keys in client bundles: each digest
	// is SHA-256(KeySalt || key), sorted bytewise. Raw keys never appear
	// in client bundles.
	KeySalt    []byte
	KeyDigests [][32]byte
}

// FlagType is the declared value type of a flag.
type FlagType uint8

// Flag types.
const (
	TypeBoolean FlagType = 1
	TypeString  FlagType = 2
	TypeNumber  FlagType = 3
	TypeObject  FlagType = 4
)

// String returns the config spelling of the type.
func (t FlagType) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeObject:
		return "object"
	}
	return "invalid"
}

// FlagTypeNames are the spellings ParseFlagType accepts, in type order.
// It returns a new slice each call, so callers may keep or change it.
func FlagTypeNames() []string { return []string{"boolean", "string", "number", "object"} }

// ParseFlagType is the one parser of flag type names ("boolean",
// "string", "number", "object"). ok is false for anything else.
func ParseFlagType(s string) (t FlagType, ok bool) {
	switch s {
	case "boolean":
		return TypeBoolean, true
	case "string":
		return TypeString, true
	case "number":
		return TypeNumber, true
	case "object":
		return TypeObject, true
	}
	return 0, false
}

// Flag is one compiled flag for one environment.
type Flag struct {
	Key  string
	Type FlagType
	// Variants are sorted by Name; Serve and the variant indices below
	// index this slice.
	Variants []Variant
	// Enabled is false for flags disabled in this environment, drafts, and
	// flags whose config does not list this environment.
	Enabled bool
	// DefaultVariant is served when enabled and no rule matches and there
	// is no Default serve; also the fallback when a split has no
	// bucketing value.
	DefaultVariant int32
	// OffVariant is served when disabled.
	OffVariant int32
	// Rules are evaluated in order; the first whose When holds serves.
	Rules []Rule
	// Default is what an enabled flag serves when no rule matches.
	Default Serve
	// Salt is the per-flag bucketing salt (the flag key unless configured).
	Salt string
	// Metadata is flag metadata returned with results (server bundles:
	// description, owner; never secrets). Sorted by Key.
	Metadata []Meta
}

// Variant is a named value. Value holds the canonical JSON encoding of the
// value (for boolean, number and string flags too), so every runtime sees
// byte-identical values.
type Variant struct {
	Name  string
	Value []byte
}

// Rule is one targeting rule.
type Rule struct {
	// ID is the rule's name from the config, or "rule-N" (1-based) when
	// unnamed.
	ID string
	// When is the root node of the condition; it must be a boolean op.
	When  int32
	Serve Serve
}

// Serve is what a rule or the default serves: one variant, or a weighted
// split.
type Serve struct {
	// Variant is the variant served; NoNode when Split is set.
	Variant int32
	// Split is a weighted split in declaration order; weights are
	// non-negative integers with a positive sum.
	Split []Weight
	// BucketBy is the attribute bucketed on (an index into Attributes);
	// the compiler resolves an absent bucketBy to "targetingKey".
	BucketBy int32
}

// Weight is one arm of a split.
type Weight struct {
	Variant int32
	Weight  uint32
}

// Meta is one metadata entry. Values are only strings, numbers and
// booleans.
type Meta struct {
	Key   string
	Value Const
}
