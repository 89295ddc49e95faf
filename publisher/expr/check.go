package expr

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/parser"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// kind is the shape of a checked node.
type kind uint8

const (
	kConst   kind = iota // c
	kAttr                // path
	kNow                 //
	kOp                  // op over kids (1 or 2)
	kMatches             // kids[0] matches pattern
	kHas                 // has(path)
	kSegment             // inSegment: idx
	kVariant             // variant: idx, name
	kList                // list literal with non-constant elements: kids
)

// tnode is a checked, typed expression, lowered to IR only when the whole
// expression is free of errors.
type tnode struct {
	kind kind
	op   ir.Op
	typ  Type
	// cond is set on boolean ops (comparisons, logic, has, string
	// predicates, inSegment, OpBool): nodes usable as a condition as is.
	cond    bool
	c       ir.Const
	path    string // attribute path (kAttr, kHas); flag key (kVariant)
	idx     int32  // segment or flag index
	pattern string // kMatches
	kids    []*tnode
	// elem is the common element type of a list (TypeDyn when mixed or
	// unknown).
	elem Type
}

// maxExactInt is the largest integer magnitude a float64 holds exactly.
const maxExactInt = 1 << 53

type checker struct {
	src   []rune
	env   *Env
	tree  *ast.AST
	errs  []Error
	attrs map[string]bool
	segs  map[string]bool
	flags map[string]bool

	segIndex  map[string]int32
	flagIndex map[string]int32
}

func newChecker(src string, env *Env, tree *ast.AST) *checker {
	idx := env.index()
	return &checker{
		src: []rune(src), env: env, tree: tree,
		attrs: map[string]bool{}, segs: map[string]bool{}, flags: map[string]bool{},
		segIndex: idx.seg, flagIndex: idx.flag,
	}
}

// errorf records an error at the start of e.
func (c *checker) errorf(e ast.Expr, format string, args ...any) {
	loc := c.tree.SourceInfo().GetStartLocation(e.ID())
	line, col := loc.Line(), loc.Column()+1
	if line < 1 || col < 1 { // no position recorded: point at the start
		line, col = 1, 1
	}
	c.errs = append(c.errs, Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// errorName records an error at the name of the function called by e
// (cel-go positions calls at their opening parenthesis).
func (c *checker) errorName(e ast.Expr, name string, format string, args ...any) {
	si := c.tree.SourceInfo()
	if r, ok := si.GetOffsetRange(e.ID()); ok {
		n := int32(utf8.RuneCountInString(name))
		start := r.Start - n
		if start >= 0 && int(r.Start) <= len(c.src) && string(c.src[start:r.Start]) == name {
			loc := si.GetLocationByOffset(start)
			c.errs = append(c.errs, Error{Line: loc.Line(), Col: loc.Column() + 1, Msg: fmt.Sprintf(format, args...)})
			return
		}
	}
	c.errorf(e, format, args...)
}

// text renders e back to CEL source, for messages.
func (c *checker) text(e ast.Expr) string {
	s, err := parser.Unparse(e, c.tree.SourceInfo())
	if err != nil {
		return "expression"
	}
	return s
}

// cond checks e as a condition: boolean ops as they are, bool and dyn
// values wrapped in OpBool.
func (c *checker) cond(e ast.Expr) *tnode {
	n := c.check(e)
	if n == nil || n.cond {
		return n
	}
	switch n.typ {
	case TypeBool, TypeDyn:
		return &tnode{kind: kOp, op: ir.OpBool, typ: TypeBool, cond: true, kids: []*tnode{n}}
	}
	c.errorf(e, "%s is a %s, not a condition (a condition must be boolean)", c.text(e), n.typ)
	return nil
}

// value checks e where a value is expected (not a condition).
func (c *checker) value(e ast.Expr) *tnode {
	n := c.check(e)
	if n != nil && n.cond {
		c.errorf(e, "the condition %s cannot be used as a value here (comparisons take attributes, literals and function results)", c.text(e))
		return nil
	}
	return n
}

// check checks any expression; nil means an error was recorded.
func (c *checker) check(e ast.Expr) *tnode {
	switch e.Kind() {
	case ast.LiteralKind:
		return c.literal(e)
	case ast.IdentKind:
		name := e.AsIdent()
		if name == "now" {
			return &tnode{kind: kNow, typ: TypeTimestamp}
		}
		if strings.HasPrefix(name, ".") {
			c.errorf(e, "root-scoped names like %s are not supported; write %s", name, strings.TrimPrefix(name, "."))
			return nil
		}
		return c.attribute(name)
	case ast.SelectKind:
		path, ok := c.selectPath(e)
		if !ok {
			return nil
		}
		return c.attribute(path)
	case ast.ListKind:
		return c.list(e)
	case ast.MapKind:
		c.errorf(e, "map literals are not supported in flag conditions")
	case ast.StructKind:
		c.errorf(e, "message literals are not supported in flag conditions")
	case ast.ComprehensionKind:
		c.errorf(e, "comprehensions are not supported in flag conditions")
	case ast.CallKind:
		return c.call(e)
	default:
		c.errorf(e, "unsupported expression")
	}
	return nil
}

func (c *checker) literal(e ast.Expr) *tnode {
	switch v := e.AsLiteral().(type) {
	case types.String:
		return &tnode{kind: kConst, typ: TypeString, c: ir.Const{Kind: ir.ConstString, Str: string(v)}}
	case types.Bool:
		return &tnode{kind: kConst, typ: TypeBool, c: ir.Const{Kind: ir.ConstBool, Bool: bool(v)}}
	case types.Int:
		if v > maxExactInt || v < -maxExactInt {
			c.errorf(e, "integer literal %d is too large: numbers are doubles, exact only up to 2^53", int64(v))
			return nil
		}
		return &tnode{kind: kConst, typ: TypeNumber, c: ir.Const{Kind: ir.ConstNum, Num: float64(v)}}
	case types.Uint:
		if v > maxExactInt {
			c.errorf(e, "integer literal %du is too large: numbers are doubles, exact only up to 2^53", uint64(v))
			return nil
		}
		return &tnode{kind: kConst, typ: TypeNumber, c: ir.Const{Kind: ir.ConstNum, Num: float64(v)}}
	case types.Double:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			c.errorf(e, "number literal %s is out of range", c.text(e))
			return nil
		}
		if f == 0 {
			f = 0 // no negative zero in the constant pool
		}
		return &tnode{kind: kConst, typ: TypeNumber, c: ir.Const{Kind: ir.ConstNum, Num: f}}
	case types.Null:
		c.errorf(e, "null is not supported in flag conditions; use has(attribute) to test presence")
	case types.Bytes:
		c.errorf(e, "bytes literals are not supported in flag conditions")
	default:
		c.errorf(e, "unsupported literal %s", c.text(e))
	}
	return nil
}

// selectPath turns a.b.c into "a.b.c"; anything but identifiers and field
// selections is an error.
func (c *checker) selectPath(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		if name == "now" {
			c.errorf(e, "now is the evaluation time and has no fields")
			return "", false
		}
		if strings.HasPrefix(name, ".") {
			c.errorf(e, "root-scoped names like %s are not supported; write %s", name, strings.TrimPrefix(name, "."))
			return "", false
		}
		return name, true
	case ast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			c.errorf(e, "has() takes an attribute, like has(plan) or has(user.plan)")
			return "", false
		}
		base, ok := c.selectPath(s.Operand())
		if !ok {
			return "", false
		}
		return base + "." + s.FieldName(), true
	}
	c.errorf(e, "field selection is only supported on attributes (like user.plan), not on %s", c.text(e))
	return "", false
}

// attribute reads a context attribute. Attributes declared semver or
// timestamp are converted on read (OpSemver/OpTimestamp over OpAttr).
func (c *checker) attribute(path string) *tnode {
	c.attrs[path] = true
	t := c.env.Attrs[path]
	n := &tnode{kind: kAttr, typ: t, path: path}
	switch t {
	case TypeSemver:
		return &tnode{kind: kOp, op: ir.OpSemver, typ: TypeSemver, kids: []*tnode{n}}
	case TypeTimestamp:
		return &tnode{kind: kOp, op: ir.OpTimestamp, typ: TypeTimestamp, kids: []*tnode{n}}
	}
	return n
}

func (c *checker) list(e ast.Expr) *tnode {
	elems := e.AsList().Elements()
	kids := make([]*tnode, 0, len(elems))
	bad := false
	allConst := true
	elem := TypeDyn
	for i, x := range elems {
		n := c.value(x)
		if n == nil {
			bad = true
			continue
		}
		if n.typ == TypeList {
			c.errorf(x, "nested lists are not supported in flag conditions")
			bad = true
			continue
		}
		if i == 0 {
			elem = n.typ
		} else if n.typ != elem {
			elem = TypeDyn
		}
		if n.kind != kConst {
			allConst = false
		}
		kids = append(kids, n)
	}
	if bad {
		return nil
	}
	if allConst {
		cs := make([]ir.Const, len(kids))
		for i, k := range kids {
			cs[i] = k.c
		}
		return &tnode{kind: kConst, typ: TypeList, elem: elem, c: ir.Const{Kind: ir.ConstList, List: cs}, kids: kids}
	}
	return &tnode{kind: kList, typ: TypeList, elem: elem, kids: kids}
}

var binaryOps = map[string]ir.Op{
	operators.Equals:        ir.OpEq,
	operators.NotEquals:     ir.OpNe,
	operators.Less:          ir.OpLt,
	operators.LessEquals:    ir.OpLe,
	operators.Greater:       ir.OpGt,
	operators.GreaterEquals: ir.OpGe,
}

var arithmetic = map[string]string{
	operators.Add: "+", operators.Subtract: "-", operators.Multiply: "*",
	operators.Divide: "/", operators.Modulo: "%", operators.Negate: "unary -",
}

var stringPreds = map[string]ir.Op{
	"startsWith": ir.OpStartsWith,
	"endsWith":   ir.OpEndsWith,
	"contains":   ir.OpContains,
}

var macros = map[string]bool{"all": true, "exists": true, "exists_one": true, "map": true, "filter": true}

func (c *checker) call(e ast.Expr) *tnode {
	call := e.AsCall()
	fn := call.FunctionName()
	args := call.Args()
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr:
		l, r := c.cond(args[0]), c.cond(args[1])
		if l == nil || r == nil {
			return nil
		}
		op := ir.OpAnd
		if fn == operators.LogicalOr {
			op = ir.OpOr
		}
		return &tnode{kind: kOp, op: op, typ: TypeBool, cond: true, kids: []*tnode{l, r}}
	case operators.LogicalNot:
		x := c.cond(args[0])
		if x == nil {
			return nil
		}
		return &tnode{kind: kOp, op: ir.OpNot, typ: TypeBool, cond: true, kids: []*tnode{x}}
	case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals,
		operators.Greater, operators.GreaterEquals:
		return c.compare(e, binaryOps[fn], args[0], args[1])
	case operators.In, operators.OldIn:
		return c.in(e, args[0], args[1])
	case operators.Conditional:
		c.errorf(e, "the ternary operator ?: is not supported in flag conditions")
		c.checkAll(args)
		return nil
	case operators.Index, operators.OptIndex:
		c.errorf(e, "index expressions like %s are not supported in flag conditions; use dotted attribute paths", c.text(e))
		return nil
	case operators.OptSelect:
		c.errorf(e, "optional field selection ?. is not supported in flag conditions")
		return nil
	}
	if sym, ok := arithmetic[fn]; ok {
		c.errorf(e, "arithmetic (%s) is not supported in flag conditions", sym)
		c.checkAll(args)
		return nil
	}
	member := call.IsMemberFunction()
	if member && macros[fn] {
		c.errorName(e, fn, "the macro %s() is not supported in flag conditions", fn)
		return nil
	}
	if op, ok := stringPreds[fn]; ok {
		if !member || len(args) != 1 {
			c.errorName(e, fn, "%s takes one argument and is called as a method: s.%s(\"text\")", fn, fn)
			return nil
		}
		return c.stringPred(e, fn, op, call.Target(), args[0])
	}
	switch fn {
	case "matches":
		switch {
		case member && len(args) == 1:
			return c.matches(e, call.Target(), args[0])
		case !member && len(args) == 2:
			return c.matches(e, args[0], args[1])
		}
		c.errorName(e, fn, "matches takes a string and a constant pattern: s.matches(\"re\")")
		return nil
	case "size":
		switch {
		case member && len(args) == 0:
			return c.size(e, call.Target())
		case !member && len(args) == 1:
			return c.size(e, args[0])
		}
		c.errorName(e, fn, "size takes one string or list: size(x) or x.size()")
		return nil
	}
	if member {
		c.errorName(e, fn, "method %s() is not supported in flag conditions", fn)
		return nil
	}
	switch fn {
	case "has", "semver", "timestamp", "inSegment", "variant":
		if len(args) != 1 {
			c.errorName(e, fn, "%s() takes exactly one argument", fn)
			return nil
		}
	}
	switch fn {
	case "has":
		path, ok := c.hasPath(args[0])
		if !ok {
			return nil
		}
		c.attrs[path] = true
		return &tnode{kind: kHas, typ: TypeBool, cond: true, path: path}
	case "semver":
		return c.semver(e, args[0])
	case "timestamp":
		return c.timestamp(e, args[0])
	case "inSegment":
		name, ok := c.nameArg(fn, args[0])
		if !ok {
			return nil
		}
		idx, ok := c.segIndex[name]
		if !ok {
			c.errorf(args[0], "unknown segment %q", name)
			return nil
		}
		c.segs[name] = true
		return &tnode{kind: kSegment, typ: TypeBool, cond: true, idx: idx, path: name}
	case "variant":
		key, ok := c.nameArg(fn, args[0])
		if !ok {
			return nil
		}
		idx, ok := c.flagIndex[key]
		if !ok {
			c.errorf(args[0], "unknown flag %q", key)
			return nil
		}
		c.flags[key] = true
		return &tnode{kind: kVariant, typ: TypeString, idx: idx, path: key}
	case "now":
		c.errorName(e, fn, "now is a value, not a function: write now")
		return nil
	}
	c.errorName(e, fn, "function %s() is not supported in flag conditions", fn)
	return nil
}

// checkAll checks the operands of an unsupported construct, to report
// their errors too.
func (c *checker) checkAll(args []ast.Expr) {
	for _, a := range args {
		c.check(a)
	}
}

func (c *checker) hasPath(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind, ast.SelectKind:
		if e.Kind() == ast.IdentKind && e.AsIdent() == "now" {
			c.errorf(e, "has(now) is not allowed: now is always present")
			return "", false
		}
		return c.selectPath(e)
	}
	c.errorf(e, "has() takes an attribute, like has(plan) or has(user.plan), not %s", c.text(e))
	return "", false
}

// nameArg requires a string literal argument.
func (c *checker) nameArg(fn string, e ast.Expr) (string, bool) {
	if e.Kind() == ast.LiteralKind {
		if s, ok := e.AsLiteral().(types.String); ok {
			return string(s), true
		}
	}
	c.errorf(e, "%s() takes a string literal, like %s(\"name\")", fn, fn)
	return "", false
}

func (c *checker) compare(e ast.Expr, op ir.Op, le, re ast.Expr) *tnode {
	l, r := c.value(le), c.value(re)
	if l == nil || r == nil {
		return nil
	}
	sym := opSymbol[op]
	eq := op == ir.OpEq || op == ir.OpNe
	for _, n := range []*tnode{l, r} {
		if n.typ == TypeList {
			c.errorf(e, "%s: %s is not defined on lists (use in)", c.text(e), sym)
			return nil
		}
		if n.typ == TypeBool && !eq {
			c.errorf(e, "%s: %s is not defined on bool", c.text(e), sym)
			return nil
		}
	}
	if !c.compatible(e, l.typ, r.typ) {
		return nil
	}
	if !c.variantCheck(l, r, re) || !c.variantCheck(r, l, le) {
		return nil
	}
	return &tnode{kind: kOp, op: op, typ: TypeBool, cond: true, kids: []*tnode{l, r}}
}

var opSymbol = map[ir.Op]string{
	ir.OpEq: "==", ir.OpNe: "!=", ir.OpLt: "<", ir.OpLe: "<=", ir.OpGt: ">", ir.OpGe: ">=",
}

// compatible reports (and records) a definite type mismatch between two
// compared operands.
func (c *checker) compatible(e ast.Expr, a, b Type) bool {
	if a == TypeDyn || b == TypeDyn || a == b {
		return true
	}
	hint := ""
	switch {
	case a == TypeSemver && b == TypeString || a == TypeString && b == TypeSemver:
		hint = ` (write semver("1.2.3") for a version)`
	case a == TypeTimestamp && b == TypeString || a == TypeString && b == TypeTimestamp:
		hint = ` (write timestamp("2026-01-01T00:00:00Z") for a time)`
	}
	c.errorf(e, "%s: cannot compare %s with %s%s", c.text(e), a, b, hint)
	return false
}

// variantCheck: when v is variant("flag") and other is a string constant
// (or a constant list, for in), each string must name one of the flag's
// variants.
func (c *checker) variantCheck(v, other *tnode, otherExpr ast.Expr) bool {
	if v.kind != kVariant || other.kind != kConst {
		return true
	}
	names := c.env.Flags[v.path]
	var strs []string
	switch other.c.Kind {
	case ir.ConstString:
		strs = []string{other.c.Str}
	case ir.ConstList:
		for _, x := range other.c.List {
			if x.Kind == ir.ConstString {
				strs = append(strs, x.Str)
			}
		}
	}
	ok := true
	for _, s := range strs {
		found := false
		for _, n := range names {
			if n == s {
				found = true
				break
			}
		}
		if !found {
			c.errorf(otherExpr, "flag %q has no variant %q (variants: %s)", v.path, s, strings.Join(names, ", "))
			ok = false
		}
	}
	return ok
}

func (c *checker) in(e ast.Expr, le, re ast.Expr) *tnode {
	l, r := c.value(le), c.value(re)
	if l == nil || r == nil {
		return nil
	}
	if r.typ != TypeList && r.typ != TypeDyn {
		c.errorf(e, "%s: in needs a list on the right, not a %s", c.text(e), r.typ)
		return nil
	}
	if l.typ == TypeList {
		c.errorf(e, "%s: the left operand of in must be a single value, not a list", c.text(e))
		return nil
	}
	if r.typ == TypeList && r.elem != TypeDyn && len(r.kids) > 0 && !c.compatible(e, l.typ, r.elem) {
		return nil
	}
	if !c.variantCheck(l, r, re) {
		return nil
	}
	return &tnode{kind: kOp, op: ir.OpIn, typ: TypeBool, cond: true, kids: []*tnode{l, r}}
}

// needs records an error unless n's type is one of want (dyn always fits).
func (c *checker) needs(e ast.Expr, n *tnode, what string, want ...Type) bool {
	if n.typ == TypeDyn {
		return true
	}
	for _, w := range want {
		if n.typ == w {
			return true
		}
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.String()
	}
	c.errorf(e, "%s needs a %s, but %s is a %s", what, strings.Join(names, " or a "), c.text(e), n.typ)
	return false
}

func (c *checker) stringPred(e ast.Expr, fn string, op ir.Op, recv, arg ast.Expr) *tnode {
	r, a := c.value(recv), c.value(arg)
	if r == nil || a == nil {
		return nil
	}
	if !c.needs(recv, r, fn+"()", TypeString) || !c.needs(arg, a, "the argument of "+fn+"()", TypeString) {
		return nil
	}
	return &tnode{kind: kOp, op: op, typ: TypeBool, cond: true, kids: []*tnode{r, a}}
}

func (c *checker) matches(e ast.Expr, recv, pat ast.Expr) *tnode {
	r := c.value(recv)
	if r == nil {
		return nil
	}
	var pattern string
	if s, ok := literalString(pat); ok {
		pattern = s
	} else {
		c.errorf(pat, "matches() needs a constant string pattern, not %s", c.text(pat))
		return nil
	}
	if err := ir.CheckPattern(pattern); err != nil {
		c.errorf(pat, "regular expression %.40q: %v", pattern, err)
		return nil
	}
	if _, err := regexp.Compile(pattern); err != nil {
		c.errorf(pat, "invalid regular expression %q: %v", pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	if !c.needs(recv, r, "matches()", TypeString) {
		return nil
	}
	return &tnode{kind: kMatches, typ: TypeBool, cond: true, pattern: pattern, kids: []*tnode{r}}
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func (c *checker) size(e ast.Expr, x ast.Expr) *tnode {
	n := c.value(x)
	if n == nil || !c.needs(x, n, "size()", TypeString, TypeList) {
		return nil
	}
	return &tnode{kind: kOp, op: ir.OpSize, typ: TypeNumber, kids: []*tnode{n}}
}

func (c *checker) semver(e ast.Expr, x ast.Expr) *tnode {
	n := c.value(x)
	if n == nil {
		return nil
	}
	if n.typ == TypeSemver && n.kind == kOp && n.op == ir.OpSemver && n.kids[0].kind == kAttr {
		return n // a declared semver attribute is already converted
	}
	if !c.needs(x, n, "semver()", TypeString) {
		return nil
	}
	if n.kind == kConst {
		if err := validateSemver(n.c.Str); err != nil {
			c.errorf(x, "%v", err)
			return nil
		}
	}
	return &tnode{kind: kOp, op: ir.OpSemver, typ: TypeSemver, kids: []*tnode{n}}
}

func (c *checker) timestamp(e ast.Expr, x ast.Expr) *tnode {
	n := c.value(x)
	if n == nil {
		return nil
	}
	if n.typ == TypeTimestamp && n.kind == kOp && n.op == ir.OpTimestamp && n.kids[0].kind == kAttr {
		return n
	}
	if !c.needs(x, n, "timestamp()", TypeString) {
		return nil
	}
	if n.kind == kConst {
		if err := validateTimestamp(n.c.Str); err != nil {
			c.errorf(x, "%v", err)
			return nil
		}
	}
	return &tnode{kind: kOp, op: ir.OpTimestamp, typ: TypeTimestamp, kids: []*tnode{n}}
}
