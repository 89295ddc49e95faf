package eval

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// semanticsBundle holds one flag per reason and error path.
func semanticsBundle(t *testing.T, aud ir.Audience) *ir.Bundle {
	t.Helper()
	b := ir.NewBuilder("shop", "production", aud)
	staffWhen := b.Node(ir.OpEndsWith, b.AttrNode("email"), b.Str("@example.com"))
	keys := []string{"acct-1", "acct-2", "42"}
	slices.Sort(keys)
	vip := ir.Segment{Name: "vip", When: ir.NoNode, KeyAttr: b.Attr("accountId")}
	if aud == ir.AudienceServer {
		vip.Keys = keys
	} else {
		vip.KeySalt = []byte("salt!")
		for _, k := range keys {
			vip.KeyDigests = append(vip.KeyDigests, sha256.Sum256(append([]byte("salt!"), k...)))
		}
		slices.SortFunc(vip.KeyDigests, func(a, b [32]byte) int { return bytesCompare(a[:], b[:]) })
	}
	b.Bundle.Segments = []ir.Segment{
		{Name: "staff", When: staffWhen, KeyAttr: ir.NoNode},
		vip,
	}
	on := func(v int32) ir.Serve { return fixed(v) }
	add := func(f ir.Flag) {
		if f.Variants == nil {
			f.Variants = boolVariants()
		}
		f.Salt = f.Key
		b.Bundle.Flags = append(b.Bundle.Flags, f)
	}
	// Sorted by key.
	add(ir.Flag{Key: "a-disabled", Type: ir.TypeBoolean, Enabled: false, DefaultVariant: 1, OffVariant: 0, Default: on(1)})
	add(ir.Flag{Key: "b-static", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0, Default: on(1)})
	add(ir.Flag{Key: "c-rules", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0, Default: on(0),
		Rules: []ir.Rule{
			{ID: "staff", When: b.Node(ir.OpInSegment, 0, 0), Serve: on(1)},
			{ID: "vip", When: b.Node(ir.OpInSegment, 1, 0), Serve: split(b, "accountId", ir.Weight{Variant: 1, Weight: 1})},
		}})
	add(ir.Flag{Key: "d-split", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0,
		Default: split(b, "targetingKey", ir.Weight{Variant: 0, Weight: 0}, ir.Weight{Variant: 1, Weight: 5})})
	add(ir.Flag{Key: "e-bucketby", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0,
		Default: split(b, "accountId", ir.Weight{Variant: 1, Weight: 5})})
	// Prerequisites: f-prereq serves "on" only if c-rules serves "on";
	// g-off-prereq on a disabled flag (its off variant is "off").
	add(ir.Flag{Key: "f-prereq", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0, Default: on(0),
		Rules: []ir.Rule{{ID: "pre", When: b.Node(ir.OpEq, b.Node(ir.OpVariant, 2, 0), b.Str("on")), Serve: on(1)}}})
	add(ir.Flag{Key: "g-off-prereq", Type: ir.TypeBoolean, Enabled: true, DefaultVariant: 0, OffVariant: 0, Default: on(0),
		Rules: []ir.Rule{{ID: "pre-off", When: b.Node(ir.OpEq, b.Node(ir.OpVariant, 0, 0), b.Str("off")), Serve: on(1)}}})
	add(ir.Flag{Key: "h-object", Type: ir.TypeObject, Enabled: true, DefaultVariant: 0, OffVariant: 0, Default: on(0),
		Variants: []ir.Variant{{Name: "cfg", Value: []byte(`{"n":1.5,"l":[true,null,"\u00e9\ud83d\ude00"],"o":{}}`)}},
		Metadata: []ir.Meta{{Key: "owner", Value: ir.Const{Kind: ir.ConstString, Str: "payments"}}}})
	return b.Bundle
}

func bytesCompare(a, b []byte) int {
	switch {
	case string(a) < string(b):
		return -1
	case string(a) > string(b):
		return 1
	}
	return 0
}

func TestReasons(t *testing.T) {
	for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
		e := mustLoad(t, semanticsBundle(t, aud))
		cases := []struct {
			name, key string
			ctx       Context
			variant   string
			reason    Reason
			code      ErrorCode
			rule      string
		}{
			{"disabled", "a-disabled", Context{}, "off", ReasonDisabled, CodeNone, ""},
			{"static", "b-static", Context{}, "on", ReasonStatic, CodeNone, ""},
			{"no match default", "c-rules", Context{"email": "x@y"}, "off", ReasonDefault, CodeNone, ""},
			{"rule-based segment", "c-rules", Context{"email": "x@example.com"}, "on", ReasonTargetingMatch, CodeNone, "staff"},
			{"static key segment + split", "c-rules", Context{"accountId": "acct-2"}, "on", ReasonSplit, CodeNone, "vip"},
			{"numeric key", "c-rules", Context{"accountId": 42}, "on", ReasonSplit, CodeNone, "vip"},
			{"not in key list", "c-rules", Context{"accountId": "acct-3"}, "off", ReasonDefault, CodeNone, ""},
			{"non-integral key", "c-rules", Context{"accountId": 42.5}, "off", ReasonDefault, CodeNone, ""},
			{"default split", "d-split", Context{"targetingKey": "u"}, "on", ReasonSplit, CodeNone, ""},
			{"targeting key missing", "d-split", Context{}, "off", ReasonDefault, CodeTargetingKeyMissing, ""},
			{"targeting key bool", "d-split", Context{"targetingKey": true}, "off", ReasonDefault, CodeTargetingKeyMissing, ""},
			{"targeting key huge", "d-split", Context{"targetingKey": 1e17}, "off", ReasonDefault, CodeTargetingKeyMissing, ""},
			{"targeting key int", "d-split", Context{"targetingKey": 12345}, "on", ReasonSplit, CodeNone, ""},
			{"bucketBy", "e-bucketby", Context{"accountId": "a", "targetingKey": nil}, "on", ReasonSplit, CodeNone, ""},
			{"bucketBy missing", "e-bucketby", Context{"targetingKey": "u"}, "off", ReasonDefault, CodeTargetingKeyMissing, ""},
			{"prerequisite on", "f-prereq", Context{"email": "x@example.com"}, "on", ReasonTargetingMatch, CodeNone, "pre"},
			{"prerequisite off", "f-prereq", Context{}, "off", ReasonDefault, CodeNone, ""},
			{"disabled prerequisite", "g-off-prereq", Context{}, "on", ReasonTargetingMatch, CodeNone, "pre-off"},
			{"object", "h-object", Context{}, "cfg", ReasonStatic, CodeNone, ""},
		}
		for _, c := range cases {
			t.Run(aud.String()+"/"+c.name, func(t *testing.T) {
				r := e.Evaluate(c.key, c.ctx, testNow)
				if r.Key != c.key || r.Variant != c.variant || r.Reason != c.reason || r.ErrorCode != c.code || r.RuleID != c.rule || r.Version != 7 {
					t.Fatalf("got %+v, want variant %s reason %s code %q rule %q", r, c.variant, c.reason, c.code, c.rule)
				}
				if c.variant == "on" && r.Value != true || c.variant == "off" && r.Value != false {
					t.Fatalf("value %v for variant %s", r.Value, c.variant)
				}
			})
		}
	}
}

func TestErrorsAndAPI(t *testing.T) {
	e := mustLoad(t, semanticsBundle(t, ir.AudienceServer))
	r := e.Evaluate("nope", Context{}, testNow)
	if r.Reason != ReasonError || r.ErrorCode != CodeFlagNotFound || r.Value != nil || r.Key != "nope" {
		t.Fatalf("unknown flag: %+v", r)
	}
	r = e.EvaluateType("b-static", ir.TypeString, Context{}, testNow)
	if r.Reason != ReasonError || r.ErrorCode != CodeTypeMismatch || r.Value != nil {
		t.Fatalf("type mismatch: %+v", r)
	}
	r = e.EvaluateType("b-static", ir.TypeBoolean, Context{}, testNow)
	if r.Reason != ReasonStatic || r.Value != true {
		t.Fatalf("EvaluateType: %+v", r)
	}
	r = e.EvaluateType("nope", ir.TypeBoolean, Context{}, testNow)
	if r.ErrorCode != CodeFlagNotFound {
		t.Fatalf("EvaluateType unknown: %+v", r)
	}
	obj := e.Evaluate("h-object", nil, testNow)
	m, ok := obj.Value.(map[string]any)
	if !ok || m["n"] != 1.5 || len(obj.Metadata) != 1 || obj.Metadata[0].Value.Str != "payments" {
		t.Fatalf("object: %+v", obj)
	}
	l, _ := m["l"].([]any)
	if len(l) != 3 || l[0] != true || l[1] != nil || l[2] != "é😀" {
		t.Fatalf("object list: %#v", m["l"])
	}
	keys := e.Keys()
	if !slices.IsSorted(keys) || len(keys) != 8 || keys[0] != "a-disabled" {
		t.Fatalf("Keys: %v", keys)
	}
	keys[0] = "mutated"
	if e.Keys()[0] != "a-disabled" {
		t.Fatal("Keys shares its slice")
	}
	if e.Version() != 7 || e.Project() != "shop" || e.Environment() != "production" || e.Audience() != ir.AudienceServer {
		t.Fatal("accessors")
	}
	ctx := Context{"email": "x@example.com", "targetingKey": "u"}
	all := e.EvaluateAll(ctx, testNow, []Result{{Key: "prefix"}})
	if len(all) != 9 || all[0].Key != "prefix" {
		t.Fatalf("EvaluateAll appends: %d", len(all))
	}
	for i, k := range e.Keys() {
		if want, got := e.Evaluate(k, ctx, testNow), all[i+1]; got.Key != want.Key || got.Variant != want.Variant || got.Reason != want.Reason || got.RuleID != want.RuleID || got.ErrorCode != want.ErrorCode {
			t.Fatalf("EvaluateAll[%s] = %+v, Evaluate = %+v", k, all[i+1], want)
		}
	}
}

// TestLoadErrors checks the error convention: every Load and
// LoadEncoded error wraps ErrInvalidBundle and its cause, names the load
// once ("load bundle: "), and adds nothing the callee already said.
func TestLoadErrors(t *testing.T) {
	check := func(name string, err error, cause error, want string) {
		t.Helper()
		if !errors.Is(err, ErrInvalidBundle) || (cause != nil && !errors.Is(err, cause)) {
			t.Errorf("%s: %v does not wrap ErrInvalidBundle and %v", name, err, cause)
			return
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "load bundle: ") || strings.Count(msg, "load bundle") != 1 ||
			strings.Count(msg, "invalid bundle") > 1 || !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want one \"load bundle: \" prefix and %q", name, msg, want)
		}
	}
	_, err := Load(nil, 1)
	check("nil", err, nil, "load bundle: nil bundle")

	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	triFlag(b, "x", matches(at("s"), "("))
	_, err = Load(b.Bundle, 1)
	check("bad regex", err, nil, "load bundle: node 1: compile pattern: error parsing regexp")
	data, encErr := ir.Encode(b.Bundle)
	if encErr != nil {
		t.Fatal(encErr)
	}
	_, err = LoadEncoded(data, ir.Limits{}, 1)
	check("bad regex, encoded", err, nil, "load bundle: node 1: compile pattern: error parsing regexp")

	b = ir.NewBuilder("p", "e", ir.AudienceServer)
	addF1(b, "x")
	b.Bundle.Flags[0].DefaultVariant = 9
	_, err = Load(b.Bundle, 1)
	check("invalid", err, ir.ErrInvalid, `load bundle: validate bundle: flag "x": default variant 9 out of range: ir: invalid bundle`)
	if data, err = ir.Encode(b.Bundle); err != nil {
		t.Fatal(err)
	}
	_, err = LoadEncoded(data, ir.Limits{}, 1)
	check("invalid, encoded", err, ir.ErrInvalid, `load bundle: validate bundle: flag "x": default variant 9 out of range: ir: invalid bundle`)
	_, err = LoadEncoded(data[:len(data)-2], ir.Limits{}, 1)
	check("truncated", err, ir.ErrTruncated, "load bundle: decode bundle: ")
}

func TestF2PeerContext(t *testing.T) {
	e := mustLoad(t, peerBundle(3))
	cases := []struct {
		ctx     Context
		variant string
		rule    string
	}{
		{peerCtx(), "senior", "r-senior"},
		{Context{"email": "a@example.com", "age": 1}, "internal", "r-internal"},
		{Context{"country": "CA", "plan": "pro"}, "pro-na", "r-pro-na"},
		{Context{"country": "CA", "plan": "free", "age": 29}, "", ""},
	}
	for _, c := range cases {
		r := e.Evaluate("f2", c.ctx, testNow)
		if c.variant == "" {
			if r.Reason != ReasonDefault || r.ErrorCode != CodeTargetingKeyMissing {
				t.Fatalf("%v: %+v", c.ctx, r)
			}
			continue
		}
		if r.Variant != c.variant || r.RuleID != c.rule || r.Value != c.variant || r.Reason != ReasonTargetingMatch {
			t.Fatalf("%v: %+v", c.ctx, r)
		}
	}
}

// TestFlagType checks that the engine answers a flag's declared type
// without the IR, and refuses an unknown key.
func TestFlagType(t *testing.T) {
	e := mustLoad(t, peerBundle(2))
	for key, want := range map[string]ir.FlagType{"f1": ir.TypeBoolean, "f2": ir.TypeString, "f3": ir.TypeBoolean} {
		if got, ok := e.FlagType(key); !ok || got != want {
			t.Errorf("FlagType(%q) = %v, %v; want %v", key, got, ok, want)
		}
	}
	if _, ok := e.FlagType("nope"); ok {
		t.Error("FlagType of an unknown key is ok")
	}
}
