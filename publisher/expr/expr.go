// Package expr compiles flag conditions, written in a documented subset of
// CEL (see docs/expressions.md), into the bundle IR of package bundle/ir.
//
// Compile parses with cel-go's parser (so literals, escapes and positions
// are exactly CEL's), then walks the syntax tree itself: it rejects every
// construct outside the subset with a message naming it, infers static
// types against the declared context attributes, and only when the whole
// expression is valid appends its nodes through an *ir.Builder. The engine
// (bundle/eval) never imports cel-go; only this package does.
package expr

import (
	"fmt"
	"sort"
	"sync"

	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/parser"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Type is the static type of an expression or of a declared context
// attribute.
type Type uint8

// Static types. TypeDyn is the type of undeclared attributes: it is accepted
// wherever a value is expected and checked at evaluation time (a mismatch
// makes the comparison unknown).
const (
	TypeDyn Type = iota
	TypeString
	TypeNumber
	TypeBool
	TypeSemver
	TypeTimestamp
	TypeList
)

// String returns the type's name as written in the config's `context:`
// section ("dyn" for TypeDyn).
func (t Type) String() string {
	switch t {
	case TypeDyn:
		return "dyn"
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeBool:
		return "bool"
	case TypeSemver:
		return "semver"
	case TypeTimestamp:
		return "timestamp"
	case TypeList:
		return "list"
	}
	return "invalid"
}

// ParseType maps a `context:` type name to a Type. It accepts "string",
// "number", "bool" (or "boolean"), "semver", "timestamp", "list" and "dyn".
func ParseType(name string) (Type, error) {
	switch name {
	case "string":
		return TypeString, nil
	case "number":
		return TypeNumber, nil
	case "bool", "boolean":
		return TypeBool, nil
	case "semver":
		return TypeSemver, nil
	case "timestamp":
		return TypeTimestamp, nil
	case "list":
		return TypeList, nil
	case "dyn":
		return TypeDyn, nil
	}
	return TypeDyn, fmt.Errorf("parse type: unknown type %q (want string, number, bool, semver, timestamp, list or dyn)", name)
}

// Env is what an expression is checked against.
//
// Segment and flag references compile to indices into the bundle's
// Segments and Flags tables, which are sorted by name; Compile computes an
// index as the rank of the name among the sorted defined names of Env. The
// caller must therefore build the bundle's Segments (Flags) from exactly
// the defined names of Env.Segments (the keys of Env.Flags).
type Env struct {
	// Attrs holds the declared `context:` types; nil means nothing is
	// declared (every attribute is dyn and none is reported undeclared).
	Attrs map[string]Type
	// Segments holds the defined segment names (entries set to true).
	Segments map[string]bool
	// Flags maps each defined flag key to its variant names, for variant().
	Flags map[string][]string

	// The rank of every defined segment and flag name, computed once on
	// first use: re-sorting every name on each Compile made compiling N
	// flags cost O(N² log N). An Env must not change after its first use,
	// except by adding names (which the length check notices).
	mu  sync.Mutex
	idx *envIndex
}

// envIndex holds the ranks of Env's sorted segment and flag names.
type envIndex struct {
	nsegs, nflags int
	seg, flag     map[string]int32
}

// index returns the name ranks, computing them on first use (and again if
// names were added since).
func (env *Env) index() *envIndex {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.idx != nil && env.idx.nsegs == len(env.Segments) && env.idx.nflags == len(env.Flags) {
		return env.idx
	}
	x := &envIndex{nsegs: len(env.Segments), nflags: len(env.Flags),
		seg: map[string]int32{}, flag: map[string]int32{}}
	var names []string
	for n, ok := range env.Segments {
		if ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		x.seg[n] = int32(i)
	}
	names = names[:0]
	for n := range env.Flags {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		x.flag[n] = int32(i)
	}
	env.idx = x
	return x
}

// Info describes a compiled expression.
type Info struct {
	// Root is the root node of the condition, always a boolean op.
	Root int32
	// Attributes are the attribute paths read, sorted and unique.
	Attributes []string
	// Undeclared are those of Attributes not declared in Env.Attrs (only
	// when Env.Attrs is non-nil; targetingKey is always declared).
	Undeclared []string
	// Segments are the inSegment() names, sorted and unique.
	Segments []string
	// Flags are the variant() flag keys, sorted and unique.
	Flags []string
	// Constant is non-nil when the condition is a literal true or false.
	Constant *bool
}

// Error is one problem in an expression, at a 1-based line and column
// (counted in Unicode code points) within the expression source.
type Error struct {
	Line, Col int
	Msg       string
}

// Error formats the error as "line:col: message".
func (e Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// TargetingKey is the attribute holding the evaluation context's targeting
// key. It is always considered declared.
const TargetingKey = "targetingKey"

// Compile parses and type-checks src against env and, when it is valid,
// appends its IR nodes through b and returns the root in Info.Root. On any
// error nothing is appended to b, Info is zero, and every error found is
// returned, sorted by position. env may be nil (nothing declared, no
// segments or flags defined).
func Compile(src string, env *Env, b *ir.Builder) (Info, []Error) {
	if env == nil {
		env = &Env{}
	}
	p, err := parser.NewParser(parser.MaxRecursionDepth(100), parser.ErrorReportingLimit(20))
	if err != nil {
		return Info{}, []Error{{Line: 1, Col: 1, Msg: fmt.Sprintf("create parser: %v", err)}}
	}
	source := common.NewTextSource(src)
	tree, perrs := p.Parse(source)
	if perrs != nil && len(perrs.GetErrors()) > 0 {
		var out []Error
		for _, e := range perrs.GetErrors() {
			line, col := e.Location.Line(), e.Location.Column()+1
			if line < 1 || col < 1 {
				line, col = 1, 1
			}
			out = append(out, Error{Line: line, Col: col, Msg: e.Message})
		}
		sortErrors(out)
		return Info{}, out
	}
	c := newChecker(src, env, tree)
	root := c.cond(tree.Expr())
	if len(c.errs) > 0 {
		sortErrors(c.errs)
		return Info{}, c.errs
	}
	info := Info{
		Attributes: sortedKeys(c.attrs),
		Segments:   sortedKeys(c.segs),
		Flags:      sortedKeys(c.flags),
	}
	if env.Attrs != nil {
		for _, a := range info.Attributes {
			if _, ok := env.Attrs[a]; !ok && a != TargetingKey {
				info.Undeclared = append(info.Undeclared, a)
			}
		}
	}
	if lit := tree.Expr(); lit.Kind() == ast.LiteralKind {
		if v, ok := lit.AsLiteral().Value().(bool); ok {
			info.Constant = &v
		}
	}
	info.Root = lower(b, root)
	return info, nil
}

func sortErrors(errs []Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Col < errs[j].Col
	})
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
