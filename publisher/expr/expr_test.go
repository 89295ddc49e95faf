package expr

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// dump renders the IR under node n in bundle/ir's Tree notation, e.g.
// and(endsWith(attr(email), "@example.com"), bool(attr(beta))).
func dump(b *ir.Bundle, n int32) string { return b.FormatExpr(n, ir.Tree) }

func testEnv() *Env {
	return &Env{
		Attrs: map[string]Type{
			"plan": TypeString, "country": TypeString, "age": TypeNumber, "beta": TypeBool,
			"appVersion": TypeSemver, "signup": TypeTimestamp, "tags": TypeList, "email": TypeString,
		},
		Segments: map[string]bool{"internal-staff": true, "vip": true, "beta-testers": true, "gone": false},
		Flags: map[string][]string{
			"new-checkout": {"off", "on"},
			"theme":        {"dark", "light", "system"},
		},
	}
}

func TestLowering(t *testing.T) {
	cases := []struct{ src, want string }{
		{`plan == "pro"`, `eq(attr(plan), "pro")`},
		{`plan != "pro"`, `ne(attr(plan), "pro")`},
		{`age < 30 || age <= 30.5 || age > -1 || age >= 2u`, `or(or(lt(attr(age), 30), le(attr(age), 30.5)), or(gt(attr(age), -1), ge(attr(age), 2)))`}, // cel-go balances chains of one operator
		{`age < 30 || (age <= 30.5 || age > -1)`, `or(lt(attr(age), 30), or(le(attr(age), 30.5), gt(attr(age), -1)))`},
		{`user.plan == "pro"`, `eq(attr(user.plan), "pro")`},
		{`a.b.c == 1`, `eq(attr(a.b.c), 1)`},
		{"a.`b-c` == 1", `eq(attr(a.b-c), 1)`},
		{`targetingKey == "u-1"`, `eq(attr(targetingKey), "u-1")`},
		{`country in ["US", "CA"]`, `in(attr(country), ["US", "CA"])`},
		{`age in [1, 2.5]`, `in(attr(age), [1, 2.5])`},
		{`"a" in tags`, `in("a", attr(tags))`},
		{`plan in [country, "x"]`, `in(attr(plan), list(attr(country), "x"))`},
		{`country in []`, `in(attr(country), [])`},
		{`plan == "pro" && !(country == "US")`, `and(eq(attr(plan), "pro"), not(eq(attr(country), "US")))`},
		{`beta`, `bool(attr(beta))`},
		{`undeclared`, `bool(attr(undeclared))`},
		{`!beta && x.y`, `and(not(bool(attr(beta))), bool(attr(x.y)))`},
		{`true`, `bool(true)`},
		{`((false))`, `bool(false)`},
		{`has(plan)`, `has(plan)`},
		{`has(user.plan)`, `has(user.plan)`},
		{`!has(plan) || plan != "pro"`, `or(not(has(plan)), ne(attr(plan), "pro"))`},
		{`email.endsWith("@example.com")`, `endsWith(attr(email), "@example.com")`},
		{`email.startsWith("a") && email.contains(plan)`, `and(startsWith(attr(email), "a"), contains(attr(email), attr(plan)))`},
		{`email.matches("^[a-z]+@example\\.com$")`, `matches(attr(email), "^[a-z]+@example\\.com$")`},
		{`matches(email, "x")`, `matches(attr(email), "x")`},
		{`size(plan) > 3 && tags.size() == 0`, `and(gt(size(attr(plan)), 3), eq(size(attr(tags)), 0))`},
		{`size("héllo") == 5`, `eq(size("héllo"), 5)`},
		{`semver(v) >= semver("2.3.0")`, `ge(semver(attr(v)), semver("2.3.0"))`},
		{`appVersion >= semver("v2")`, `ge(semver(attr(appVersion)), semver("v2"))`},
		{`semver(appVersion) < semver("2.3.0-rc.1+build.5")`, `lt(semver(attr(appVersion)), semver("2.3.0-rc.1+build.5"))`},
		{`now >= timestamp("2026-01-01T00:00:00Z")`, `ge(now, timestamp("2026-01-01T00:00:00Z"))`},
		{`signup < timestamp("2026-01-01T00:00:00.5+02:00")`, `lt(timestamp(attr(signup)), timestamp("2026-01-01T00:00:00.5+02:00"))`},
		{`timestamp(created) < now`, `lt(timestamp(attr(created)), now)`},
		{`inSegment("internal-staff")`, `inSegment(#1)`}, // index = rank among sorted defined names,
		{`inSegment("vip") || inSegment("beta-testers")`, `or(inSegment(#2), inSegment(#0))`},
		{`variant("theme") == "dark"`, `eq(variant(#1), "dark")`},
		{`variant("new-checkout") in ["on"]`, `in(variant(#0), ["on"])`},
		{`beta == true`, `eq(attr(beta), true)`},
		{`"é\u00e9\x41\n" == plan`, `eq("éé` + "A\\n" + `", attr(plan))`},
		{`r"\d+" == plan`, `eq("\\d+", attr(plan))`},
		{`'''multi
line''' == plan`, `eq("multi\nline", attr(plan))`},
		{`0x10 == age`, `eq(16, attr(age))`},
		{`1e3 == age`, `eq(1000, attr(age))`},
		{`-0.0 == age`, `eq(0, attr(age))`},
	}
	for _, tc := range cases {
		b := ir.NewBuilder("p", "e", ir.AudienceServer)
		info, errs := Compile(tc.src, testEnv(), b)
		if len(errs) > 0 {
			t.Errorf("%s: unexpected errors %v", tc.src, errs)
			continue
		}
		if got := dump(b.Bundle, info.Root); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.want)
		}
		if !isBoolOp(b.Bundle.Nodes[info.Root].Op) {
			t.Errorf("%s: root op %d is not boolean", tc.src, b.Bundle.Nodes[info.Root].Op)
		}
	}
}

func isBoolOp(op ir.Op) bool {
	switch op {
	case ir.OpConst, ir.OpAttr, ir.OpNow, ir.OpSize, ir.OpSemver, ir.OpTimestamp, ir.OpVariant, ir.OpList:
		return false
	}
	return true
}

func TestErrors(t *testing.T) {
	cases := []struct {
		src  string
		want []string // "line:col: message"
	}{
		{`plan == "x" ? a : b`, []string{`1:13: the ternary operator ?: is not supported in flag conditions`}},
		{`age + 1 > 2`, []string{`1:5: arithmetic (+) is not supported in flag conditions`}},
		{`-age < 2`, []string{`1:1: arithmetic (unary -) is not supported in flag conditions`}},
		{`tags[0] == "a"`, []string{`1:5: index expressions like tags[0] are not supported in flag conditions; use dotted attribute paths`}},
		{`{"a": 1} == m`, []string{`1:1: map literals are not supported in flag conditions`}},
		{`tags.all(t, t == "x")`, []string{`1:6: the macro all() is not supported in flag conditions`}},
		{`tags.exists(t, t == "x")`, []string{`1:6: the macro exists() is not supported in flag conditions`}},
		{`int(age) == 1`, []string{`1:1: function int() is not supported in flag conditions`}},
		{`plan.lowerAscii() == "x"`, []string{`1:6: method lowerAscii() is not supported in flag conditions`}},
		{`now() > timestamp("2026-01-01T00:00:00Z")`, []string{`1:1: now is a value, not a function: write now`}},
		{`plan == null`, []string{`1:9: null is not supported in flag conditions; use has(attribute) to test presence`}},
		{`plan == b"x"`, []string{`1:9: bytes literals are not supported in flag conditions`}},
		{`age >= "30"`, []string{`1:5: age >= "30": cannot compare number with string`}},
		{`size(true) > 1`, []string{`1:6: size() needs a string or a list, but true is a bool`}},
		{`age.startsWith("1")`, []string{`1:1: startsWith() needs a string, but age is a number`}},
		{`email.endsWith(3)`, []string{`1:16: the argument of endsWith() needs a string, but 3 is a number`}},
		{`startsWith(email, "a")`, []string{`1:1: startsWith takes one argument and is called as a method: s.startsWith("text")`}},
		{`email.matches(plan)`, []string{`1:15: matches() needs a constant string pattern, not plan`}},
		{`email.matches("a(")`, []string{`1:15: invalid regular expression "a(": missing closing ): ` + "`a(`"}},
		{`email.matches("((a{1000}){1000}){1000}")`, []string{`1:15: regular expression "((a{1000}){1000}){1000}": pattern is too large once its repetitions are expanded`}},
		{`appVersion >= "2.3.0"`, []string{`1:12: appVersion >= "2.3.0": cannot compare semver with string (write semver("1.2.3") for a version)`}},
		{`semver(v) > "1"`, []string{`1:11: semver(v) > "1": cannot compare semver with string (write semver("1.2.3") for a version)`}},
		{`now > "2026"`, []string{`1:5: now > "2026": cannot compare timestamp with string (write timestamp("2026-01-01T00:00:00Z") for a time)`}},
		{`plan`, []string{`1:1: plan is a string, not a condition (a condition must be boolean)`}},
		{`"x" && beta`, []string{`1:1: "x" is a string, not a condition (a condition must be boolean)`}},
		{`semver("1.02.3") > semver(v)`, []string{`1:8: invalid semantic version "1.02.3": version numbers must not have leading zeros`}},
		{`semver("1.2.3.4") > semver(v)`, []string{`1:8: invalid semantic version "1.2.3.4": more than three version numbers`}},
		{`semver("1.2.3-01") > semver(v)`, []string{`1:8: invalid semantic version "1.2.3-01": pre-release numeric identifiers must not have leading zeros`}},
		{`semver("1.2.3-a..b") > semver(v)`, []string{`1:8: invalid semantic version "1.2.3-a..b": pre-release has an empty identifier`}},
		{`now < timestamp("2026-13-01T00:00:00Z")`, []string{`1:17: invalid timestamp "2026-13-01T00:00:00Z": want RFC 3339, like 2026-01-01T00:00:00Z`}},
		{`now < timestamp("2026-01-01")`, []string{`1:17: invalid timestamp "2026-01-01": want RFC 3339, like 2026-01-01T00:00:00Z`}},
		{`inSegment("nope")`, []string{`1:11: unknown segment "nope"`}},
		{`inSegment("gone")`, []string{`1:11: unknown segment "gone"`}},
		{`inSegment(plan)`, []string{`1:11: inSegment() takes a string literal, like inSegment("name")`}},
		{`variant("nope") == "on"`, []string{`1:9: unknown flag "nope"`}},
		{`variant("theme") == "blue"`, []string{`1:21: flag "theme" has no variant "blue" (variants: dark, light, system)`}},
		{`variant("theme") in ["dark", "pink"]`, []string{`1:21: flag "theme" has no variant "pink" (variants: dark, light, system)`}},
		{`has(now)`, []string{`1:5: has(now) is not allowed: now is always present`}},
		{`has("plan")`, []string{`1:5: has() takes an attribute, like has(plan) or has(user.plan), not "plan"`}},
		{`has(a, b)`, []string{`1:1: has() takes exactly one argument`}},
		{`now.year == 1`, []string{`1:1: now is the evaluation time and has no fields`}},
		{`plan in "abc"`, []string{`1:6: plan in "abc": in needs a list on the right, not a string`}},
		{`tags == ["a"]`, []string{`1:6: tags == ["a"]: == is not defined on lists (use in)`}},
		{`beta < true`, []string{`1:6: beta < true: < is not defined on bool`}},
		{`age in ["a", "b"]`, []string{`1:5: age in ["a", "b"]: cannot compare number with string`}},
		{`(plan == "a") == true`, []string{`1:7: the condition plan == "a" cannot be used as a value here (comparisons take attributes, literals and function results)`}},
		{`[[1]] == x`, []string{`1:2: nested lists are not supported in flag conditions`}},
		{`age == 9007199254740993`, []string{`1:8: integer literal 9007199254740993 is too large: numbers are doubles, exact only up to 2^53`}},
		{`.plan == "x"`, []string{`1:2: root-scoped names like .plan are not supported; write plan`}},
		{`f(x).y == 1`, []string{`1:2: field selection is only supported on attributes (like user.plan), not on f(x)`}},
		// several errors in one expression, sorted by position
		{`age >= "30" && plan.startsWith(1) || x ? 1 : 2`, []string{
			`1:5: age >= "30": cannot compare number with string`,
			`1:32: the argument of startsWith() needs a string, but 1 is a number`,
			`1:40: the ternary operator ?: is not supported in flag conditions`,
		}},
		// multi-line positions
		{"plan == \"pro\"\n  && age > \"x\"\n  && foo(1)", []string{
			`2:10: age > "x": cannot compare number with string`,
			`3:6: function foo() is not supported in flag conditions`,
		}},
		// columns count code points, not bytes
		{`"ééé" == plan && age == "x"`, []string{`1:22: age == "x": cannot compare number with string`}},
		// parse errors come from cel-go's parser
		{`plan ==`, []string{`1:8: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`}},
		{`plan == "unterminated`, nil}, // any syntax error; checked below
	}
	for _, tc := range cases {
		b := ir.NewBuilder("p", "e", ir.AudienceServer)
		_, errs := Compile(tc.src, testEnv(), b)
		if len(errs) == 0 {
			t.Errorf("%s: no error", tc.src)
			continue
		}
		if len(b.Bundle.Nodes) != 0 || len(b.Bundle.Consts) != 0 || len(b.Bundle.Attributes) != 0 {
			t.Errorf("%s: failed compile appended to the bundle", tc.src)
		}
		if tc.want == nil {
			if !strings.Contains(errs[0].Msg, "Syntax error") {
				t.Errorf("%s: got %v, want a syntax error", tc.src, errs)
			}
			continue
		}
		got := make([]string, len(errs))
		for i, e := range errs {
			got[i] = e.Error()
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	src := `plan == "pro" && has(user.tier) && inSegment("vip") && variant("theme") == "dark" &&
		(zeta > 1 || plan in ["a"] || targetingKey == "k" || inSegment("vip") || appVersion > semver("1"))`
	info, errs := Compile(src, testEnv(), b)
	if errs != nil {
		t.Fatal(errs)
	}
	if want := []string{"appVersion", "plan", "targetingKey", "user.tier", "zeta"}; !reflect.DeepEqual(info.Attributes, want) {
		t.Errorf("Attributes %v, want %v", info.Attributes, want)
	}
	if want := []string{"user.tier", "zeta"}; !reflect.DeepEqual(info.Undeclared, want) {
		t.Errorf("Undeclared %v, want %v", info.Undeclared, want)
	}
	if want := []string{"vip"}; !reflect.DeepEqual(info.Segments, want) {
		t.Errorf("Segments %v, want %v", info.Segments, want)
	}
	if want := []string{"theme"}; !reflect.DeepEqual(info.Flags, want) {
		t.Errorf("Flags %v, want %v", info.Flags, want)
	}
	if info.Constant != nil {
		t.Errorf("Constant %v, want nil", *info.Constant)
	}

	// Without declarations nothing is undeclared.
	info, errs = Compile(`zeta > 1`, &Env{}, b)
	if errs != nil || info.Undeclared != nil || !reflect.DeepEqual(info.Attributes, []string{"zeta"}) {
		t.Errorf("nil Attrs: info %+v errs %v", info, errs)
	}
	// nil Env works too, with no segments defined.
	if _, errs := Compile(`inSegment("x")`, nil, b); len(errs) != 1 {
		t.Errorf("nil env inSegment: %v", errs)
	}

	for src, want := range map[string]bool{"true": true, "(false)": false, "((true))": true} {
		info, errs := Compile(src, nil, b)
		if errs != nil || info.Constant == nil || *info.Constant != want {
			t.Errorf("%s: Constant %v errs %v", src, info.Constant, errs)
		}
	}
	for _, src := range []string{"true && true", "!false", "beta"} {
		info, _ := Compile(src, nil, b)
		if info.Constant != nil {
			t.Errorf("%s: Constant should be nil", src)
		}
	}
}

func TestSharing(t *testing.T) {
	// Compiling the same expression twice appends nothing the second time
	// (the Builder hash-conses nodes and interns constants).
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	src := `country in ["US", "CA"] && email.endsWith("@example.com")`
	i1, _ := Compile(src, testEnv(), b)
	n, c := len(b.Bundle.Nodes), len(b.Bundle.Consts)
	i2, _ := Compile(src, testEnv(), b)
	if i1.Root != i2.Root || len(b.Bundle.Nodes) != n || len(b.Bundle.Consts) != c {
		t.Errorf("recompiling grew the bundle: roots %d/%d nodes %d->%d consts %d->%d",
			i1.Root, i2.Root, n, len(b.Bundle.Nodes), c, len(b.Bundle.Consts))
	}
	// The constant list is one ConstList constant.
	found := false
	for _, k := range b.Bundle.Consts {
		if k.Kind == ir.ConstList && len(k.List) == 2 && k.List[0].Str == "US" {
			found = true
		}
	}
	if !found {
		t.Errorf("no ConstList [US CA] in %+v", b.Bundle.Consts)
	}
}

func TestParseType(t *testing.T) {
	for _, tt := range []Type{TypeDyn, TypeString, TypeNumber, TypeBool, TypeSemver, TypeTimestamp, TypeList} {
		got, err := ParseType(tt.String())
		if err != nil || got != tt {
			t.Errorf("ParseType(%q) = %v, %v", tt.String(), got, err)
		}
	}
	if _, err := ParseType("int"); err == nil {
		t.Error("ParseType(int) succeeded")
	}
}

func TestValidateSemver(t *testing.T) {
	// Valid and invalid examples from https://semver.org/spec/v2.0.0.html
	// (sections 2, 9, 10, 11) plus our "v" prefix and short forms.
	good := []string{"1.0.0", "0.0.4", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1",
		"1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0-alpha+001", "1.0.0+20130313144700",
		"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "v1.2.3", "v2", "2.3", "1.1.2-prerelease+meta"}
	bad := []string{"", "v", "1.2.3.4", "01.1.1", "1.01.1", "1.1.01", "1.2.3-0123", "1.2.3-", "1.2.3+",
		"1.2.3-a..b", "1.2.3-ü", "a.b.c", "1..2", "1.2.", "99999999999999999999.0.0", "V1.2.3", " 1.2.3"}
	for _, s := range good {
		if err := validateSemver(s); err != nil {
			t.Errorf("validateSemver(%q) = %v", s, err)
		}
	}
	for _, s := range bad {
		if err := validateSemver(s); err == nil {
			t.Errorf("validateSemver(%q) succeeded", s)
		}
	}
}
