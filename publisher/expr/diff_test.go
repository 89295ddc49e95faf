package expr

// Differential test: random expressions of the subset, compiled by Compile
// and run by bundle/eval, against cel-go evaluating the same expression with
// the attributes as fields of one map variable (`ctx.plan`,
// `has(ctx.plan)`; ctx is map(string, dyn), now a timestamp). A rule
// matches in our engine exactly when CEL's result is `true`; a non-match
// must be CEL `false`, an error, or a non-bool value.
//
// Generation stays where the two semantics coincide by design
// (docs/expressions.md, "Differences from full CEL"):
//   - ==, != and in: an attribute used on either side of them is only
//     ever missing or of its generated type in the contexts (never mistyped
//     or null), and list attributes only hold strings, because CEL's
//     heterogeneous equality makes `1 == "1"` false where we say unknown.
//     Attributes used only by ordering, string functions, size(), matches,
//     timestamp() or as a bare condition are also mistyped and null.
//   - attribute-vs-attribute comparisons never see mistyped values, for
//     any operator: CEL orders two bools (false < true); we do not (< on
//     bool is a publish-time error, and unknown at run time).
//   - dotted attributes are read only through nested maps (never a flat
//     "user.plan" key, which we try first and CEL does not), and has() is
//     only generated on top-level attributes (CEL's has(ctx.user.plan) is an
//     error when ctx.user is missing; ours is false).
//   - attributes inside list literals (x in [s1, "a"]) are always present:
//     CEL fails the whole list when an element is missing, while our
//     engine skips the unknown element (x in [s1, "a"] is true for x == "a"
//     without s1).
//   - semver(), inSegment() and variant() are not generated: CEL lacks them.
//     Their lowering is covered by TestLowering and the engine's own tests.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// attrKind is the generated type of an attribute.
type attrKind int

const (
	akString attrKind = iota
	akNumber
	akBool
	akList
	akTime
)

type genAttr struct {
	name string // our spelling, e.g. "user.plan"
	kind attrKind
}

var genAttrs = []genAttr{
	{"s1", akString}, {"s2", akString}, {"user.plan", akString},
	{"n1", akNumber}, {"n2", akNumber},
	{"b1", akBool}, {"b2", akBool},
	{"tags", akList},
	{"ts", akTime},
}

var (
	genStrings = []string{"pro", "free", "", "é", "Österreich", "abc@example.com", "a\"b\\c", "US", "ab", "PRO", "日本"}
	genNumbers = []string{"0", "1", "-3", "30", "2.5", "100u", "1e2", "-0.5", "0x1F"}
	genNumVals = []float64{0, 1, -3, 30, 2.5, 100, -0.5, 31, 7}
	genRegexes = []string{"^a", "b$", "é", "(?i)PRO", `^[a-z]+@example\.com$`, `\d`, "", "o.*o", "^$"}
	genTimes   = []string{"2026-01-01T00:00:00Z", "2025-06-15T12:30:00.5+02:00", "2026-01-01T01:00:00+01:00", "2030-12-31T23:59:59Z", "1999-01-01T00:00:00-08:00"}
	genOps     = []string{"==", "!=", "<", "<=", ">", ">="}
)

// gen builds one expression in both spellings and records which attributes
// must not be mistyped.
type gen struct {
	r      *rand.Rand
	eqOnly map[string]bool // attributes used by ==, != or in
	// required attributes are always present (list literal elements).
	required map[string]bool
	used     map[string]bool
}

// expr is an expression in our spelling and in CEL's.
type expr struct{ ours, cel string }

func (g *gen) attr(kind attrKind) (genAttr, expr) {
	var pool []genAttr
	for _, a := range genAttrs {
		if a.kind == kind {
			pool = append(pool, a)
		}
	}
	a := pool[g.r.IntN(len(pool))]
	g.used[a.name] = true
	return a, expr{a.name, "ctx." + a.name}
}

func lit(s string) expr { return expr{s, s} }

func (g *gen) str() expr  { return lit(strconv.Quote(genStrings[g.r.IntN(len(genStrings))])) }
func (g *gen) num() expr  { return lit(genNumbers[g.r.IntN(len(genNumbers))]) }
func (g *gen) op() string { return genOps[g.r.IntN(len(genOps))] }

func join(parts ...any) expr {
	var o, c strings.Builder
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			o.WriteString(p)
			c.WriteString(p)
		case expr:
			o.WriteString(p.ours)
			c.WriteString(p.cel)
		}
	}
	return expr{o.String(), c.String()}
}

func (g *gen) cond(depth int) expr {
	if depth > 0 && g.r.IntN(3) > 0 {
		switch g.r.IntN(5) {
		case 0, 1:
			return join("(", g.cond(depth-1), " && ", g.cond(depth-1), ")")
		case 2, 3:
			return join("(", g.cond(depth-1), " || ", g.cond(depth-1), ")")
		default:
			return join("!(", g.cond(depth-1), ")")
		}
	}
	return g.leaf()
}

func (g *gen) leaf() expr {
	switch g.r.IntN(17) {
	case 0: // string equality/ordering against a literal
		a, e := g.attr(akString)
		op := g.op()
		if op == "==" || op == "!=" {
			g.eqOnly[a.name] = true
		}
		if g.r.IntN(2) == 0 {
			return join(e, " ", op, " ", g.str())
		}
		return join(g.str(), " ", op, " ", e)
	case 1: // number comparison
		a, e := g.attr(akNumber)
		op := g.op()
		if op == "==" || op == "!=" {
			g.eqOnly[a.name] = true
		}
		return join(e, " ", op, " ", g.num())
	case 2: // attribute against attribute of the same type
		k := []attrKind{akString, akNumber}[g.r.IntN(2)]
		a, e1 := g.attr(k)
		b, e2 := g.attr(k)
		// Never mistyped, whatever the operator: CEL orders two bools
		// (false < true) where we say unknown.
		g.eqOnly[a.name], g.eqOnly[b.name] = true, true
		return join(e1, " ", g.op(), " ", e2)
	case 3: // bool attribute as a condition
		_, e := g.attr(akBool)
		return e
	case 4: // bool equality
		a, e := g.attr(akBool)
		g.eqOnly[a.name] = true
		return join(e, " ", []string{"==", "!="}[g.r.IntN(2)], " ", []string{"true", "false"}[g.r.IntN(2)])
	case 5: // has() on a top-level attribute
		for {
			a := genAttrs[g.r.IntN(len(genAttrs))]
			if !strings.Contains(a.name, ".") {
				g.used[a.name] = true
				return expr{"has(" + a.name + ")", "has(ctx." + a.name + ")"}
			}
		}
	case 6: // in a constant string list
		a, e := g.attr(akString)
		g.eqOnly[a.name] = true
		n := g.r.IntN(4)
		parts := []any{e, " in ["}
		for i := 0; i < n; i++ {
			if i > 0 {
				parts = append(parts, ", ")
			}
			parts = append(parts, g.str())
		}
		return join(append(parts, "]")...)
	case 7: // in a constant number list
		a, e := g.attr(akNumber)
		g.eqOnly[a.name] = true
		return join(e, " in [", g.num(), ", ", g.num(), "]")
	case 8: // literal in a list attribute
		a, e := g.attr(akList)
		g.eqOnly[a.name] = true
		return join(g.str(), " in ", e)
	case 9: // in a list mixing attributes and literals
		a, e := g.attr(akString)
		b, e2 := g.attr(akString)
		g.eqOnly[a.name], g.eqOnly[b.name] = true, true
		g.required[b.name] = true
		return join(e, " in [", e2, ", ", g.str(), "]")
	case 10, 11: // string predicates (receiver may be mistyped)
		_, e := g.attr(akString)
		fn := []string{"startsWith", "endsWith", "contains"}[g.r.IntN(3)]
		if g.r.IntN(4) == 0 {
			_, e2 := g.attr(akString)
			return join(e, ".", fn, "(", e2, ")")
		}
		return join(e, ".", fn, "(", g.str(), ")")
	case 12: // matches, both forms
		_, e := g.attr(akString)
		re := strconv.Quote(genRegexes[g.r.IntN(len(genRegexes))])
		if g.r.IntN(2) == 0 {
			return join("matches(", e, ", ", re, ")")
		}
		return join(e, ".matches(", re, ")")
	case 13: // size
		k := []attrKind{akString, akList}[g.r.IntN(2)]
		_, e := g.attr(k)
		if g.r.IntN(2) == 0 {
			return join("size(", e, ") ", g.op(), " ", g.num())
		}
		return join(e, ".size() ", g.op(), " ", g.num())
	case 14: // timestamps
		_, e := g.attr(akTime)
		t := strconv.Quote(genTimes[g.r.IntN(len(genTimes))])
		switch g.r.IntN(3) {
		case 0:
			return join("timestamp(", e, ") ", g.op(), " timestamp(", t, ")")
		case 1:
			return join("now ", g.op(), " timestamp(", t, ")")
		}
		return join("timestamp(", e, ") ", g.op(), " now")
	case 15: // constants
		return lit([]string{"true", "false"}[g.r.IntN(2)])
	default: // string ordering attribute vs attribute, or a literal comparison
		return join(g.str(), " ", g.op(), " ", g.str())
	}
}

// value generates a context value for an attribute: its type, or (when
// allowed) a mistyped value or null.
func (g *gen) value(a genAttr, mistype bool) any {
	if mistype {
		switch g.r.IntN(5) {
		case 0:
			return nil
		case 1:
			return genNumVals[g.r.IntN(len(genNumVals))]
		case 2:
			return genStrings[g.r.IntN(len(genStrings))]
		case 3:
			return g.r.IntN(2) == 0
		default:
			return []any{"pro", 1.0}
		}
	}
	switch a.kind {
	case akString:
		return genStrings[g.r.IntN(len(genStrings))]
	case akNumber:
		return genNumVals[g.r.IntN(len(genNumVals))]
	case akBool:
		return g.r.IntN(2) == 0
	case akList:
		n := g.r.IntN(4)
		l := make([]any, n)
		for i := range l {
			l[i] = genStrings[g.r.IntN(len(genStrings))]
		}
		return l
	case akTime:
		if g.r.IntN(6) == 0 {
			return "not a time"
		}
		return genTimes[g.r.IntN(len(genTimes))]
	}
	return nil
}

func (g *gen) context() eval.Context {
	ctx := eval.Context{}
	for _, a := range genAttrs {
		if !g.used[a.name] || !g.required[a.name] && g.r.IntN(4) == 0 {
			continue // missing
		}
		mistype := !g.eqOnly[a.name] && g.r.IntN(4) == 0
		v := g.value(a, mistype)
		if head, field, ok := strings.Cut(a.name, "."); ok {
			switch n := g.r.IntN(6); {
			case g.required[a.name] && n < 2:
				ctx[head] = map[string]any{field: v}
			case n == 0:
				ctx[head] = "not a map"
			case n == 1:
				ctx[head] = map[string]any{}
			default:
				ctx[head] = map[string]any{field: v}
			}
			continue
		}
		ctx[a.name] = v
	}
	return ctx
}

func oneFlagBundle(t *testing.T, src string, env *Env) *eval.Engine {
	t.Helper()
	b := ir.NewBuilder("diff", "test", ir.AudienceServer)
	info, errs := Compile(src, env, b)
	if errs != nil {
		t.Fatalf("compile %s: %v", src, errs)
	}
	b.Bundle.Flags = []ir.Flag{{
		Key:  "f",
		Type: ir.TypeBoolean,
		// sorted by name: off=0, on=1
		Variants:       []ir.Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}},
		Enabled:        true,
		DefaultVariant: 0,
		OffVariant:     0,
		Rules:          []ir.Rule{{ID: "r", When: info.Root, Serve: ir.Serve{Variant: 1, BucketBy: ir.NoNode}}},
		Default:        ir.Serve{Variant: 0, BucketBy: ir.NoNode},
		Salt:           "f",
	}}
	e, err := eval.Load(b.Bundle, 1)
	if err != nil {
		t.Fatalf("load %s: %v", src, err)
	}
	return e
}

func TestDifferentialCEL(t *testing.T) {
	celEnv, err := cel.NewEnv(
		cel.Variable("ctx", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	declared := &Env{Attrs: map[string]Type{
		"s1": TypeString, "s2": TypeString, "user.plan": TypeString, "n1": TypeNumber, "n2": TypeNumber,
		"b1": TypeBool, "b2": TypeBool, "tags": TypeList,
	}}
	nows := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 15, 10, 30, 0, 500_000_000, time.UTC),
		time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	const exprs, contexts = 3000, 12
	r := rand.New(rand.NewPCG(20261121, 1))
	var matched, checked int
	for i := 0; i < exprs; i++ {
		g := &gen{r: r, eqOnly: map[string]bool{}, required: map[string]bool{}, used: map[string]bool{}}
		e := g.cond(3)
		env := &Env{}
		if i%2 == 1 {
			env = declared
		}
		engine := oneFlagBundle(t, e.ours, env)
		// Parsed, not checked: CEL's checker rejects int-vs-double
		// comparisons statically (size(x) != 2.5) that its runtime, like
		// ours, evaluates numerically.
		ast, iss := celEnv.Parse(e.cel)
		if iss != nil && iss.Err() != nil {
			t.Fatalf("cel parse %s: %v", e.cel, iss.Err())
		}
		prg, err := celEnv.Program(ast)
		if err != nil {
			t.Fatalf("cel program %s: %v", e.cel, err)
		}
		for j := 0; j < contexts; j++ {
			ctx := g.context()
			now := nows[r.IntN(len(nows))]
			res := engine.Evaluate("f", ctx, now)
			ours := res.Variant == "on"
			out, _, err := prg.Eval(map[string]any{"ctx": map[string]any(ctx), "now": now})
			theirs := err == nil && out == types.True
			checked++
			if ours {
				matched++
			}
			if ours != theirs {
				t.Fatalf("mismatch for\n  ours: %s\n  cel:  %s\n  ctx:  %s\n  now:  %s\n  ours matched=%v (%+v); cel: %v, %v",
					e.ours, e.cel, fmtCtx(ctx), now.Format(time.RFC3339Nano), ours, res, out, err)
			}
		}
	}
	// Guard against a generator that never exercises both outcomes.
	if matched < checked/10 || matched > checked*9/10 {
		t.Errorf("unbalanced generation: %d of %d evaluations matched", matched, checked)
	}
	t.Logf("%d expressions, %d evaluations, %d matched", exprs, checked, matched)
}

func fmtCtx(ctx eval.Context) string {
	var parts []string
	for _, a := range []string{"s1", "s2", "user", "n1", "n2", "b1", "b2", "tags", "ts"} {
		if v, ok := ctx[a]; ok {
			parts = append(parts, fmt.Sprintf("%s=%#v", a, v))
		}
	}
	return strings.Join(parts, " ")
}
