package conformance

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// whens collects every string under a "when" key of a config.
func whens(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "when" {
				*out = append(*out, s)
				continue
			}
			whens(e, out)
		}
	case []any:
		for _, e := range x {
			whens(e, out)
		}
	}
}

// TestCoverage: at least 300 cases, and every operator, function, reason,
// error code, flag type, audience, status and case kind appears.
func TestCoverage(t *testing.T) {
	suites, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var exprs []string
	seen := map[string]bool{}
	note := func(r *Result) {
		seen["reason:"+r.Reason] = true
		if r.ErrorCode != "" {
			seen["code:"+r.ErrorCode] = true
		}
		if strings.HasPrefix(r.RuleID, "rule-") {
			seen["rule-N"] = true
		} else if r.RuleID != "" {
			seen["named rule"] = true
		}
	}
	for _, s := range suites {
		total += len(s.Cases)
		seen["audience:"+s.Audience] = true
		var cfg any
		if err := json.Unmarshal(s.Config, &cfg); err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		whens(cfg, &exprs)
		for _, f := range cfg.(map[string]any)["flags"].(map[string]any) {
			fm := f.(map[string]any)
			seen["type:"+fm["type"].(string)] = true
			if st, ok := fm["status"].(string); ok {
				seen["status:"+st] = true
			}
		}
		for i := range s.Cases {
			c := &s.Cases[i]
			if c.Kind == KindAll {
				seen["kind:all"] = true
				for j := range c.ExpectAll {
					note(&c.ExpectAll[j])
				}
				continue
			}
			seen["kind:one"] = true
			if c.Type != "" {
				seen["want:"+c.Type] = true
			}
			note(c.Expect)
		}
	}
	if total < 300 {
		t.Errorf("corpus has %d cases, want at least 300", total)
	}
	t.Logf("%d cases in %d files", total, len(suites))
	all := strings.Join(exprs, "\n")
	ops := map[string]string{
		"==": ` == `, "!=": ` != `, "<": ` < `, "<=": ` <= `, ">": ` > `, ">=": ` >= `, "in": ` in `,
		"&&": ` && `, "||": ` \|\| `, "!": `![^=]`, "has": `has\(`, "startsWith": `\.startsWith\(`,
		"endsWith": `\.endsWith\(`, "contains": `\.contains\(`, "matches method": `\.matches\(`,
		"matches function": `(^|[^.])matches\(`, "size function": `(^|[^.])size\(`, "size method": `\.size\(\)`,
		"semver": `semver\(`, "timestamp": `timestamp\(`, "now": `\bnow\b`, "inSegment": `inSegment\(`,
		"variant": `variant\(`, "list literal with attribute": `\[[a-zA-Z]`, "list attribute": `" in [a-z]`,
		"nested attribute": `[a-z]\.[a-z]+ `, "backquoted attribute": "`",
	}
	for name, re := range ops {
		if !regexp.MustCompile(re).MatchString(all) {
			t.Errorf("no expression uses %s (%s)", name, re)
		}
	}
	for _, k := range []string{
		"reason:STATIC", "reason:DEFAULT", "reason:TARGETING_MATCH", "reason:SPLIT", "reason:DISABLED", "reason:ERROR",
		"code:FLAG_NOT_FOUND", "code:TYPE_MISMATCH", "code:TARGETING_KEY_MISSING",
		"type:boolean", "type:string", "type:number", "type:object",
		"want:boolean", "want:string", "want:number", "want:object",
		"audience:server", "audience:client", "status:draft", "status:archived", "status:active",
		"kind:one", "kind:all", "rule-N", "named rule",
	} {
		if !seen[k] {
			t.Errorf("corpus never covers %s", k)
		}
	}
}

// murmur3 is an independent MurmurHash3 x86_32 (Appleby's reference
// algorithm, seed as given) used only to check the corpus's split
// expectations, never the engine's code.
func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data)
	for i := 0; i+4 <= n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	tail := data[n&^3:]
	var k uint32
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// TestMurmurVectors checks the reimplementation against published vectors:
// "hello" -> 0x248bfa47 and rows of docs/bucketing.md's table.
func TestMurmurVectors(t *testing.T) {
	for _, v := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0}, {"", 1, 0x514e28b7}, {"hello", 0, 0x248bfa47},
		{"new-checkout/user-123", 0, 0x1b2a8cc2}, {"new-checkout/", 0, 0x951af755},
		{"salt/héllo", 0, 0x02eb9493}, {"salt/日本語", 0, 0x9e5ecf53}, {"checkout-v2/acct-42", 0, 0x1966d923},
		{"exp-7/-9007199254740992", 0, 0x6229070a},
	} {
		if got := murmur3([]byte(v.in), v.seed); got != v.want {
			t.Errorf("murmur3(%q, %d) = %#x, want %#x", v.in, v.seed, got, v.want)
		}
	}
}

// splitConfig is the part of a corpus config the split check reads.
type splitConfig struct {
	Flags map[string]struct {
		DefaultVariant string `json:"defaultVariant"`
		Type           string `json:"type"`
		Environments   map[string]struct {
			Rules []struct {
				Name     string          `json:"name"`
				Split    json.RawMessage `json:"split"`
				BucketBy string          `json:"bucketBy"`
			} `json:"rules"`
			Default *struct {
				Split    json.RawMessage `json:"split"`
				BucketBy string          `json:"bucketBy"`
			} `json:"default"`
		} `json:"environments"`
	} `json:"flags"`
}

type arm struct {
	variant string
	weight  uint64
}

// orderedSplit decodes a split mapping keeping declaration order.
func orderedSplit(raw json.RawMessage) ([]arm, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("split is not an object")
	}
	var arms []arm
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var w uint64
		if err := dec.Decode(&w); err != nil {
			return nil, err
		}
		arms = append(arms, arm{k.(string), w})
	}
	return arms, nil
}

// unitOf applies docs/bucketing.md step 1 to a context (flat key first).
func unitOf(ctx map[string]any, path string) (string, bool) {
	v, ok := ctx[path]
	if !ok {
		var cur any = ctx
		for _, p := range strings.Split(path, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return "", false
			}
			if cur, ok = m[p]; !ok {
				return "", false
			}
		}
		v = cur
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return "", false
		}
		if x == 0 {
			return "0", true
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// TestSplitExpectations recomputes, with the independent murmur3 above and
// docs/bucketing.md's algorithm, the variant of every case that reports a
// split (reason SPLIT) or a missing unit (TARGETING_KEY_MISSING).
func TestSplitExpectations(t *testing.T) {
	suites, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range suites {
		var cfg splitConfig
		if err := json.Unmarshal(s.Config, &cfg); err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		check := func(cname, key string, ctx map[string]any, r *Result) {
			if r.Reason != "SPLIT" && r.ErrorCode != "TARGETING_KEY_MISSING" {
				return
			}
			f, ok := cfg.Flags[key]
			if !ok {
				t.Errorf("%s: %s: flag %q not in config", s.Path, cname, key)
				return
			}
			env := f.Environments[s.Environment]
			var raw json.RawMessage
			var by string
			if r.RuleID == "" {
				if env.Default == nil {
					t.Errorf("%s: %s: no default split", s.Path, cname)
					return
				}
				raw, by = env.Default.Split, env.Default.BucketBy
			} else {
				for i, rule := range env.Rules {
					if rule.Name == r.RuleID || (rule.Name == "" && r.RuleID == fmt.Sprintf("rule-%d", i+1)) {
						raw, by = rule.Split, rule.BucketBy
					}
				}
			}
			arms, err := orderedSplit(raw)
			if err != nil {
				t.Errorf("%s: %s: %v", s.Path, cname, err)
				return
			}
			if by == "" {
				by = "targetingKey"
			}
			want := f.DefaultVariant
			if want == "" && f.Type == "boolean" {
				want = "off"
			}
			unit, ok := unitOf(ctx, by)
			if ok {
				var total uint64
				for _, a := range arms {
					total += a.weight
				}
				bucket := uint64(murmur3([]byte(key+"/"+unit), 0)) * 100000 >> 32
				var cum uint64
				for _, a := range arms {
					cum += a.weight
					if bucket*total < cum*100000 {
						want = a.variant
						break
					}
				}
				if r.Reason != "SPLIT" || r.ErrorCode != "" {
					t.Errorf("%s: %s: unit %q is usable, but the case expects %s/%s", s.Path, cname, unit, r.Reason, r.ErrorCode)
				}
			} else if r.Reason != "DEFAULT" || r.ErrorCode != "TARGETING_KEY_MISSING" {
				t.Errorf("%s: %s: no unit, but the case expects %s/%s", s.Path, cname, r.Reason, r.ErrorCode)
			}
			if r.Variant != want {
				t.Errorf("%s: %s: expected variant %q, independent bucketing gives %q", s.Path, cname, r.Variant, want)
			}
			checked++
		}
		for i := range s.Cases {
			c := &s.Cases[i]
			if c.Kind == KindAll {
				for j := range c.ExpectAll {
					check(c.Name, c.ExpectAll[j].Key, c.Context, &c.ExpectAll[j])
				}
				continue
			}
			check(c.Name, c.Flag, c.Context, c.Expect)
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d split cases, want at least 50", checked)
	}
}

// TestCheck: values compare as canonical JSON; every field is compared.
func TestCheck(t *testing.T) {
	want := &Case{Name: "c", Flag: "f", Expect: &Result{Value: json.RawMessage(`{"b":[1,2.50],"a":"x"}`), Variant: "v", Reason: "SPLIT", RuleID: "r"}}
	good := Result{Key: "f", Value: json.RawMessage(`{"a":"x","b":[1.0,2.5]}`), Variant: "v", Reason: "SPLIT", RuleID: "r"}
	if err := Check(want, []Result{good}); err != nil {
		t.Errorf("equal results: %v", err)
	}
	for name, mutate := range map[string]func(r *Result){
		"string vs number": func(r *Result) { r.Value = json.RawMessage(`{"a":"x","b":["1",2.5]}`) },
		"variant":          func(r *Result) { r.Variant = "w" },
		"reason":           func(r *Result) { r.Reason = "DEFAULT" },
		"error code":       func(r *Result) { r.ErrorCode = "GENERAL" },
		"rule id":          func(r *Result) { r.RuleID = "" },
	} {
		bad := good
		mutate(&bad)
		if err := Check(want, []Result{bad}); err == nil {
			t.Errorf("%s: Check accepted a different result", name)
		}
	}
	if err := Check(want, nil); err == nil {
		t.Error("Check accepted no result")
	}
}

// TestParseRejects: malformed suites are refused with a reason.
func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   `{"audience":"server","environment":"p","bogus":1}`,
		"bad audience":    `{"audience":"edge","environment":"p"}`,
		"digest mismatch": `{"audience":"server","environment":"p","bundle":"AAEC","bundleSha256":"00"}`,
		"no now":          `{"audience":"server","environment":"p","cases":[{"name":"a","flag":"f","context":{},"expect":{"value":1,"variant":"v","reason":"STATIC"}}]}`,
		"duplicate name":  `{"audience":"server","environment":"p","now":"2026-01-01T00:00:00Z","cases":[{"name":"a","flag":"f","context":{},"expect":{"value":1,"variant":"v","reason":"STATIC"}},{"name":"a","flag":"f","context":{},"expect":{"value":1,"variant":"v","reason":"STATIC"}}]}`,
		"missing value":   `{"audience":"server","environment":"p","now":"2026-01-01T00:00:00Z","cases":[{"name":"a","flag":"f","context":{},"expect":{"variant":"v","reason":"STATIC"}}]}`,
		"bad type":        `{"audience":"server","environment":"p","now":"2026-01-01T00:00:00Z","cases":[{"name":"a","flag":"f","type":"int","context":{},"expect":{"value":1,"variant":"v","reason":"STATIC"}}]}`,
		"trailing data":   `{"audience":"server","environment":"p"} {}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, doc)
		}
	}
}
