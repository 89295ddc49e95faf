package ir

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/internal/benchmetric"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// codecF2 appends the peer benchmarks' F2 flag (5 string variants; rules email.endsWith("@example.com"), country in
// ["US","CA"] && plan == "pro", age >= 30; default 50/50 split a/b) as the
// compiler would build it.
func codecF2(b *Builder, key string) Flag {
	r1 := b.Node(OpEndsWith, b.AttrNode("email"), b.Str("@example.com"))
	na := b.Node(OpConst, b.Const(Const{Kind: ConstList, List: []Const{
		{Kind: ConstString, Str: "US"}, {Kind: ConstString, Str: "CA"}}}), 0)
	r2 := b.Node(OpAnd,
		b.Node(OpIn, b.AttrNode("country"), na),
		b.Node(OpEq, b.AttrNode("plan"), b.Str("pro")))
	r3 := b.Node(OpGe, b.AttrNode("age"), b.Num(30))
	tk := b.Attr("targetingKey")
	return Flag{
		Key:  key,
		Type: TypeString,
		Variants: []Variant{
			{Name: "a", Value: []byte(`"a"`)},
			{Name: "b", Value: []byte(`"b"`)},
			{Name: "internal", Value: []byte(`"internal"`)},
			{Name: "pro-na", Value: []byte(`"pro-na"`)},
			{Name: "senior", Value: []byte(`"senior"`)},
		},
		Enabled:        true,
		DefaultVariant: 0,
		OffVariant:     0,
		Rules: []Rule{
			{ID: "r-internal", When: r1, Serve: Serve{Variant: 2, BucketBy: tk}},
			{ID: "r-pro-na", When: r2, Serve: Serve{Variant: 3, BucketBy: tk}},
			{ID: "r-senior", When: r3, Serve: Serve{Variant: 4, BucketBy: tk}},
		},
		Default: Serve{Variant: NoNode, Split: []Weight{{0, 50}, {1, 50}}, BucketBy: tk},
		Salt:    key,
	}
}

// codecF2Set builds n F2-like flags with keys f2_00000... (sorted).
func codecF2Set(n int) *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	for i := 0; i < n; i++ {
		k := strconv.Itoa(i)
		k = "f2_" + strings.Repeat("0", 5-len(k)) + k
		b.Bundle.Flags = append(b.Bundle.Flags, codecF2(b, k))
	}
	return b.Bundle
}

// codecOwnRules is codecF2Set(n) with rule conditions of each flag's own
// (an email domain and an age threshold), so that the flags share their
// variant lists but no two have the same rule list.
func codecOwnRules(n int) *Bundle {
	bd := NewBuilder("shop", "production", AudienceServer)
	for i := 0; i < n; i++ {
		k := strconv.Itoa(i)
		k = "f2_" + strings.Repeat("0", 5-len(k)) + k
		f := codecF2(bd, k)
		f.Rules[0].When = bd.Node(OpEndsWith, bd.AttrNode("email"), bd.Str("@"+k+".example.com"))
		f.Rules[2].When = bd.Node(OpGe, bd.AttrNode("age"), bd.Num(float64(18+i%50)))
		bd.Bundle.Flags = append(bd.Bundle.Flags, f)
	}
	return bd.Bundle
}

// codecF123 is the small reference bundle of the golden file: the peer
// benchmarks' flags F1 (boolean, on, no rules), F2 and F3 (boolean, 10% rollout).
func codecF123() *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	tk := b.Attr("targetingKey")
	boolVariants := []Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}}
	f1 := Flag{Key: "f1", Type: TypeBoolean, Variants: boolVariants, Enabled: true,
		DefaultVariant: 1, Default: Serve{Variant: 1, BucketBy: tk}, Salt: "f1",
		Metadata: []Meta{{Key: "owner", Value: Const{Kind: ConstString, Str: "payments"}}}}
	f2 := codecF2(b, "f2")
	f3 := Flag{Key: "f3", Type: TypeBoolean, Variants: boolVariants, Enabled: true,
		Default: Serve{Variant: NoNode, Split: []Weight{{1, 10}, {0, 90}}, BucketBy: tk}, Salt: "f3"}
	b.Bundle.Flags = []Flag{f1, f2, f3}
	return b.Bundle
}

// codecFull covers every field, every op, every const kind, both segment
// forms and metadata of each kind.
func codecFull() *Bundle {
	bd := &Bundle{
		Project:     "shop",
		Environment: "staging",
		Audience:    AudienceClient,
		Attributes:  []string{"targetingKey", "plan", "user.email", "", "país"},
		Consts: []Const{
			{Kind: ConstNull},
			{Kind: ConstBool, Bool: true},
			{Kind: ConstBool},
			{Kind: ConstNum, Num: 30},
			{Kind: ConstNum, Num: -1.5e-300},
			{Kind: ConstNum, Num: math.Inf(-1)},
			{Kind: ConstNum, Num: math.Copysign(0, -1)},
			{Kind: ConstString, Str: "pro"},
			{Kind: ConstString, Str: ""},
			{Kind: ConstList, List: []Const{{Kind: ConstString, Str: "US"}, {Kind: ConstNum, Num: 2}, {Kind: ConstBool, Bool: true}, {Kind: ConstNull}}},
			{Kind: ConstList},
			{Kind: ConstString, Str: "^a.*$"},
		},
		Args: []int32{0, 1, -1, math.MaxInt32, math.MinInt32},
	}
	for op := 0; op < NumOps; op++ {
		bd.Nodes = append(bd.Nodes, Node{Op: Op(op), A: int32(op) - 3, B: int32(op * 1000)})
	}
	bd.Nodes = append(bd.Nodes, Node{Op: OpBool, A: math.MaxInt32, B: math.MinInt32})
	var d1, d2 [32]byte
	for i := range d1 {
		d1[i], d2[i] = byte(i), byte(255-i)
	}
	bd.Segments = []Segment{
		{Name: "beta", When: 3, KeyAttr: NoNode},
		{Name: "staff", When: NoNode, KeyAttr: 0, Keys: []string{"", "acct-1", "acct-2"}},
		{Name: "vip", When: NoNode, KeyAttr: 1, KeySalt: []byte{0, 1, 0xff}, KeyDigests: [][32]byte{d1, d2}},
		{},
	}
	bd.Flags = []Flag{
		{}, // every field zero except the required type below
		{
			Key:  "new-checkout",
			Type: TypeObject,
			Variants: []Variant{
				{Name: "off", Value: []byte(`{"a":[1,2],"é":null}`)},
				{Name: "on"},
				{Value: []byte(`true`)},
			},
			Enabled:        true,
			DefaultVariant: 1,
			OffVariant:     NoNode,
			Rules: []Rule{
				{ID: "staff", When: 7, Serve: Serve{Variant: 1}},
				{When: 8, Serve: Serve{Variant: NoNode, Split: []Weight{{0, 25}, {1, 0}, {-1, math.MaxUint32}}, BucketBy: 2}},
				{},
			},
			Default: Serve{BucketBy: 4},
			Salt:    "s",
			Metadata: []Meta{
				{Key: "bool", Value: Const{Kind: ConstBool}},
				{Key: "desc", Value: Const{Kind: ConstString, Str: "Redesigned checkout"}},
				{Key: "list", Value: Const{Kind: ConstList, List: []Const{{Kind: ConstNum, Num: 1}}}},
				{Key: "null"},
				{Key: "num", Value: Const{Kind: ConstNum, Num: 0.25}},
				{Key: "yes", Value: Const{Kind: ConstBool, Bool: true}},
			},
		},
	}
	bd.Flags[0].Type = TypeBoolean
	return bd
}

func codecEncodeT(t testing.TB, b *Bundle) []byte {
	t.Helper()
	data, err := Encode(b)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return data
}

func TestCodecRoundTrip(t *testing.T) {
	cases := map[string]*Bundle{
		"empty":   {Audience: AudienceServer},
		"f123":    codecF123(),
		"f2x50":   codecF2Set(50),
		"full":    codecFull(),
		"segment": codecSegments(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			data := codecEncodeT(t, b)
			got, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, b) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, b)
			}
			again := codecEncodeT(t, got)
			if !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs: %d vs %d bytes", len(again), len(data))
			}
		})
	}
}

// TestCodecFloatBits checks that numbers keep their exact bits (-0, tiny,
// infinite), which reflect.DeepEqual cannot tell apart for -0.
func TestCodecFloatBits(t *testing.T) {
	b := codecFull()
	got, err := Decode(codecEncodeT(t, b), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range b.Consts {
		if math.Float64bits(got.Consts[i].Num) != math.Float64bits(c.Num) {
			t.Errorf("const %d: bits %x, want %x", i, math.Float64bits(got.Consts[i].Num), math.Float64bits(c.Num))
		}
	}
}

func codecSegments() *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	w := b.Node(OpEndsWith, b.AttrNode("email"), b.Str("@example.com"))
	b.Bundle.Segments = []Segment{
		{Name: "internal-staff", When: w, KeyAttr: NoNode},
		{Name: "vip-accounts", When: NoNode, KeyAttr: b.Attr("accountId"), Keys: []string{"acct-1", "acct-2", "acct-3"}},
	}
	in := b.Node(OpInSegment, 1, 0)
	b.Bundle.Flags = []Flag{{Key: "vip", Type: TypeBoolean, Enabled: true,
		Variants: []Variant{{Name: "off", Value: []byte("false")}, {Name: "on", Value: []byte("true")}},
		Rules:    []Rule{{ID: "vip", When: in, Serve: Serve{Variant: 1}}}, Salt: "vip"}}
	return b.Bundle
}

func TestCodecDeterministic(t *testing.T) {
	a := codecEncodeT(t, codecF2Set(200))
	b := codecEncodeT(t, codecF2Set(200))
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same flags encode differently")
	}
	full := codecFull()
	x, y := codecEncodeT(t, full), codecEncodeT(t, full)
	if !bytes.Equal(x, y) {
		t.Fatal("encoding the same bundle twice differs")
	}
	// Empty and nil slices are the same value for the encoding.
	e1 := codecEncodeT(t, &Bundle{Audience: AudienceServer, Attributes: []string{}, Flags: []Flag{}})
	e2 := codecEncodeT(t, &Bundle{Audience: AudienceServer})
	if !bytes.Equal(e1, e2) {
		t.Fatal("empty and nil slices encode differently")
	}
}

// TestCodecStringsShared checks the string table dedupes: 200 F2-like flags
// cost far less than 200 times one flag's strings.
func TestCodecStringsShared(t *testing.T) {
	one := len(codecEncodeT(t, codecF2Set(1)))
	many := len(codecEncodeT(t, codecF2Set(200)))
	per := (many - one) / 199
	if per > 80 {
		t.Fatalf("each extra F2-like flag costs %d bytes; the string table should share its constants", per)
	}
}

func codecReadHex(t *testing.T, path string) []byte {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bundle/ir -run Golden -update)", err)
	}
	var out []byte
	for n, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, h := range f[1:] {
			if h == "|" {
				break
			}
			v, err := hex.DecodeString(h)
			if err != nil || len(v) != 1 {
				t.Fatalf("%s:%d: bad hex byte %q", path, n+1, h)
			}
			out = append(out, v[0])
		}
	}
	return out
}

func codecHexDump(data []byte) string {
	var sb strings.Builder
	sb.WriteString("# ir.Encode(f123 reference bundle), FormatVersion " + strconv.Itoa(FormatVersion) + "; regenerate with go test ./bundle/ir -update\n")
	for off := 0; off < len(data); off += 16 {
		end := min(off+16, len(data))
		o := strconv.FormatInt(int64(off), 16)
		sb.WriteString(strings.Repeat("0", 8-len(o)) + o + " ")
		for i := off; i < off+16; i++ {
			if i < end {
				sb.WriteString(" " + hex.EncodeToString(data[i:i+1]))
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString("  | ")
		for _, c := range data[off:end] {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestCodecGolden(t *testing.T) {
	path := filepath.Join("testdata", "f123.golden")
	data := codecEncodeT(t, codecF123())
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(codecHexDump(data)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := codecReadHex(t, path)
	if !bytes.Equal(data, want) {
		t.Fatalf("encoding of f123 differs from %s (%d vs %d bytes); if the format change is intended, run with -update and review the diff", path, len(data), len(want))
	}
	got, err := Decode(want, Limits{})
	if err != nil {
		t.Fatalf("Decode(golden): %v", err)
	}
	if !reflect.DeepEqual(got, codecF123()) {
		t.Fatal("golden decodes to a different bundle")
	}
}

// codecRaw builds forged input: ints are written as uvarints, strings and
// byte slices raw.
func codecRaw(parts ...any) []byte {
	e := &codecEncoder{}
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			e.uvarint(uint64(v))
		case uint64:
			e.uvarint(v)
		case string:
			e.buf = append(e.buf, v...)
		case []byte:
			e.buf = append(e.buf, v...)
		default:
			panic("codecRaw: bad part")
		}
	}
	return e.buf
}

type codecForged struct {
	name string
	data []byte
	lim  Limits
	want error
	msg  string // a substring the error must contain
}

// codecForgedInputs lists hand-forged invalid encodings, one per way of
// being invalid. "EFIR",1 is the header; the next int is the string count,
// then the Bundle record's presence mask (4 = Audience only, 260 =
// Audience and Flags, ...) and its fields in field order.
func codecForgedInputs() []codecForged {
	const M = codecMagic
	valid := codecRaw(M, 1, 0, 4, 1) // Bundle{Audience: AudienceServer}
	// A one-flag bundle with a string table of {"k"}; flagBody is the flag
	// record.
	flag1 := func(flagBody ...any) []byte {
		return codecRaw(append([]any{M, 1, 1, 1, "k", 260, 1, 1}, flagBody...)...)
	}
	return []codecForged{
		{"valid", valid, Limits{}, nil, ""},
		{"unknown bundle field", codecRaw(M, 1, 0, 4|1<<9, 1, 0), Limits{}, ErrUnknownField, "field 10"},
		{"unknown bundle field 64", codecRaw(M, 1, 0, uint64(4|1<<63), 1), Limits{}, ErrUnknownField, "field 64"},
		{"unknown flag field", flag1(3|1<<10, 0, 1, 0), Limits{}, ErrUnknownField, "flag 0: offset 12: field 11"},
		{"unknown serve field", flag1(2|1<<7, 1, 8, 0), Limits{}, ErrUnknownField, "default: serve: offset 15: field 4"},
		{"unknown rule field", flag1(2|1<<6, 1, 1, 8), Limits{}, ErrUnknownField, "rule 0: offset 15: field 4"},
		// Fields carry no tags, so a repeated or reordered field cannot be
		// expressed; bytes written as if it could are misparsed and fail.
		{"repeated field", codecRaw(M, 1, 1, 1, "p", 5, 0, 0, 1), Limits{}, ErrMalformed, "unknown audience 0"},
		{"fields out of order", codecRaw(M, 1, 1, 1, "p", 5, 1, 0), Limits{}, ErrMalformed, "string index 1 out of range"},
		{"trailing byte", append(append([]byte{}, valid...), 0), Limits{}, ErrTrailingData, "1 bytes"},
		{"oversize", valid, Limits{MaxBytes: len(valid) - 1}, ErrTooLarge, "exceeds"},
		{"huge flag count", codecRaw(M, 1, 0, 260, 1, uint64(1)<<40), Limits{}, ErrTooLarge, "flag count"},
		{"flag count beyond input", codecRaw(M, 1, 0, 260, 1, 1000, 2, 1), Limits{}, ErrTruncated, "remaining input"},
		{"huge string count", codecRaw(M, 1, uint64(math.MaxUint64)), Limits{}, ErrTooLarge, "string count"},
		{"string count beyond input", codecRaw(M, 1, 50, 1), Limits{}, ErrTruncated, "remaining input"},
		{"huge string length", codecRaw(M, 1, 1, 1<<30, "x"), Limits{}, ErrTooLarge, "length"},
		{"string length beyond input", codecRaw(M, 1, 1, 9, "x"), Limits{}, ErrTruncated, "string table"},
		{"huge node count", codecRaw(M, 1, 0, 4|32, 1, 1<<21, 0), Limits{}, ErrTooLarge, "node count"},
		{"limit max flags", flag1(3, 0, 1), Limits{MaxFlags: 1}, nil, ""},
		{"limit max flags hit", codecRaw(M, 1, 0, 260, 1, 2, 2, 1, 2, 1), Limits{MaxFlags: 1}, ErrTooLarge, "flag count 2"},
		{"non-minimal varint", codecRaw(M, []byte{0x81, 0x00}, 0, 4, 1), Limits{}, ErrMalformed, "non-minimal"},
		{"non-minimal zero", codecRaw(M, 1, []byte{0x80, 0x00}, 4, 1), Limits{}, ErrMalformed, "non-minimal"},
		{"varint overflow", codecRaw(M, 1, 0, 260, 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), Limits{}, ErrMalformed, "overflows 64"},
		{"bad utf-8", codecRaw(M, 1, 1, 2, []byte{0xc3, 0x28}, 5, 0, 1), Limits{}, ErrMalformed, "UTF-8"},
		{"bad magic", codecRaw("EFIX", 1, 0, 4, 1), Limits{}, ErrMalformed, "magic"},
		{"empty input", nil, Limits{}, ErrTruncated, "magic"},
		{"version 2", codecRaw(M, 2, 0, 4, 1), Limits{}, ErrUnsupportedVersion, "version 2"},
		{"version 0", codecRaw(M, 0, 0, 4, 1), Limits{}, ErrUnsupportedVersion, "version 0"},
		{"unsorted strings", codecRaw(M, 1, 2, 1, 1, "ba", 7, 0, 1, 1), Limits{}, ErrMalformed, "sorted"},
		{"duplicate strings", codecRaw(M, 1, 2, 1, 1, "aa", 7, 0, 1, 1), Limits{}, ErrMalformed, "sorted"},
		{"unused string", codecRaw(M, 1, 2, 1, 1, "ab", 5, 0, 1), Limits{}, ErrMalformed, "never referenced"},
		{"string index out of range", codecRaw(M, 1, 1, 1, "a", 5, 1, 1), Limits{}, ErrMalformed, "out of range"},
		{"explicit empty string", codecRaw(M, 1, 1, 0, 5, 0, 1), Limits{}, ErrMalformed, "empty string"},
		{"explicit zero int", flag1(2|1<<4, 1, 0), Limits{}, ErrMalformed, "explicit zero"},
		{"explicit empty list", codecRaw(M, 1, 0, 260, 1, 0), Limits{}, ErrMalformed, "empty flag list"},
		{"explicit empty serve", flag1(2|1<<7, 1, 0), Limits{}, ErrMalformed, "empty serve"},
		{"enabled byte 0", flag1(2|1<<3, 1, 0), Limits{}, ErrMalformed, "enabled"},
		{"enabled byte 2", flag1(2|1<<3, 1, 2), Limits{}, ErrMalformed, "enabled"},
		{"flag without type", flag1(1, 0), Limits{}, ErrMalformed, "no type"},
		{"unknown flag type", flag1(3, 0, 5), Limits{}, ErrMalformed, "flag type 5"},
		{"missing audience", codecRaw(M, 1, 0, 0), Limits{}, ErrMalformed, "no audience"},
		{"unknown audience", codecRaw(M, 1, 0, 4, 3), Limits{}, ErrMalformed, "audience 3"},
		{"unknown op", codecRaw(M, 1, 0, 4|32, 1, 1, NumOps, 0, 0), Limits{}, ErrMalformed, "unknown op"},
		{"int32 overflow", codecRaw(M, 1, 0, 4|64, 1, 1, uint64(1)<<32), Limits{}, ErrMalformed, "overflows 32"},
		{"unknown const kind", codecRaw(M, 1, 0, 4|16, 1, 1, 5), Limits{}, ErrMalformed, "const kind 5"},
		{"const kind wrapping to null", codecRaw(M, 1, 0, 4|16, 1, 1, 256), Limits{}, ErrMalformed, "const kind 256"},
		{"bool const byte 2", codecRaw(M, 1, 0, 4|16, 1, 1, 1, 2), Limits{}, ErrMalformed, "boolean"},
		{"NaN const", codecRaw(M, 1, 0, 4|16, 1, 1, 2, []byte{1, 0, 0, 0, 0, 0, 0xf8, 0x7f}), Limits{}, ErrMalformed, "NaN"},
		{"nested list", codecRaw(M, 1, 0, 4|16, 1, 1, 4, 1, 4, 0), Limits{}, ErrMalformed, "nested"},
		{"null metadata", flag1(2|1<<9, 1, 1, 2, 0), Limits{}, ErrMalformed, "null"},
		{"weight overflow", flag1(2|1<<7, 1, 2, 1, 0, uint64(1)<<32), Limits{}, ErrMalformed, "weight"},
		{"digest count beyond input", codecRaw(M, 1, 0, 4|128, 1, 1, 32, 2, []byte{1, 2, 3}), Limits{}, ErrTruncated, "key digest"},
	}
}

func TestCodecRejects(t *testing.T) {
	for _, tc := range codecForgedInputs() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Decode(tc.data, tc.lim)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode accepted %x: %+v", tc.data, b)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %q does not wrap %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "decode bundle: ") {
				t.Fatalf("error %q lacks context %q", err, tc.msg)
			}
			if b != nil {
				t.Fatal("non-nil bundle with an error")
			}
		})
	}
}

func TestCodecErrorContext(t *testing.T) {
	// Cutting the input inside flag 1's third rule must name both.
	full := codecEncodeT(t, codecF2Set(3))
	seen := false
	for n := len(full) - 1; n > 0 && !seen; n-- {
		_, err := Decode(full[:n], Limits{})
		seen = err != nil && strings.Contains(err.Error(), `decode bundle: flag 1 "f2_00001": rule 2: `)
	}
	if !seen {
		t.Fatal("no truncation inside flag 1 rule 2 reported its flag and rule")
	}
}

func TestCodecTruncatedPrefixes(t *testing.T) {
	for _, b := range []*Bundle{codecF123(), codecFull(), codecSegments()} {
		data := codecEncodeT(t, b)
		for n := 0; n < len(data); n++ {
			_, err := Decode(data[:n], Limits{})
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("prefix of %d/%d bytes: error %v, want ErrTruncated", n, len(data), err)
			}
		}
	}
}

func TestCodecEncodeRejects(t *testing.T) {
	ok := func() *Bundle { return codecF123() }
	cases := []struct {
		name string
		mod  func(b *Bundle)
		msg  string
	}{
		{"unknown audience", func(b *Bundle) { b.Audience = 0 }, "audience"},
		{"invalid utf-8 project", func(b *Bundle) { b.Project = "\xff" }, "UTF-8"},
		{"invalid utf-8 key", func(b *Bundle) { b.Flags[1].Key = "a\xc3" }, `flag 1 "a\xc3"`},
		{"invalid utf-8 value", func(b *Bundle) { b.Flags[0].Variants[0].Value = []byte{0xff} }, "value is not valid UTF-8"},
		{"unknown flag type", func(b *Bundle) { b.Flags[2].Type = 9 }, "flag type 9"},
		{"unknown op", func(b *Bundle) { b.Nodes[0].Op = Op(NumOps) }, "unknown op"},
		{"unknown const kind", func(b *Bundle) { b.Consts[0].Kind = 7 }, "const kind 7"},
		{"NaN", func(b *Bundle) { b.Consts = append(b.Consts, Const{Kind: ConstNum, Num: math.NaN()}) }, "NaN"},
		{"const extra field", func(b *Bundle) { b.Consts = append(b.Consts, Const{Kind: ConstString, Str: "x", Num: 1}) }, "does not use"},
		{"null meta with field", func(b *Bundle) { b.Flags[0].Metadata[0].Value = Const{Str: "x"} }, "does not use"},
		{"nested list", func(b *Bundle) {
			b.Consts = append(b.Consts, Const{Kind: ConstList, List: []Const{{Kind: ConstList}}})
		}, "nested"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := ok()
			tc.mod(b)
			_, err := Encode(b)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "encode bundle: ") {
				t.Fatalf("Encode error %v, want one containing %q", err, tc.msg)
			}
		})
	}
	if _, err := Encode(nil); err == nil {
		t.Fatal("Encode(nil) succeeded")
	}
}

func TestCodecLimitsDefaults(t *testing.T) {
	d := DefaultLimits()
	got := Limits{}.codecWithDefaults()
	if got != d {
		t.Fatalf("zero Limits resolve to %+v, want %+v", got, d)
	}
	custom := Limits{MaxFlags: 7}.codecWithDefaults()
	if custom.MaxFlags != 7 || custom.MaxNodes != d.MaxNodes {
		t.Fatalf("partial Limits resolve to %+v", custom)
	}
	// Each total limit is enforced across the bundle, not per record.
	data := codecEncodeT(t, codecF2Set(4)) // 20 variants, 12 rules, 8 arms
	for _, tc := range []struct {
		name string
		lim  Limits
	}{
		{"variants", Limits{MaxVariants: 19}},
		{"rules", Limits{MaxRules: 11}},
		{"weights", Limits{MaxWeights: 7}},
		{"strings", Limits{MaxStrings: 5}},
		{"string length", Limits{MaxStringLen: 5}},
		{"attributes", Limits{MaxAttributes: 2}},
		{"consts", Limits{MaxConsts: 2}},
		{"nodes", Limits{MaxNodes: 2}},
		{"list", Limits{MaxListLen: 1}},
	} {
		if _, err := Decode(data, tc.lim); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: error %v, want ErrTooLarge", tc.name, err)
		}
	}
	if _, err := Decode(data, Limits{MaxVariants: 20, MaxRules: 12, MaxWeights: 8}); err != nil {
		t.Errorf("exact limits rejected: %v", err)
	}
	// Limits at MaxInt must not let count × element size overflow.
	huge := Limits{MaxBytes: math.MaxInt, MaxSegments: math.MaxInt, MaxKeys: math.MaxInt}
	forged := codecRaw(codecMagic, 1, 0, 4|128, 1, 1, 32, uint64(1)<<62, []byte{1, 2})
	if _, err := Decode(forged, huge); !errors.Is(err, ErrTruncated) {
		t.Errorf("2^62 digests under MaxInt limits: error %v, want ErrTruncated", err)
	}
	seg := codecEncodeT(t, codecFull())
	for _, lim := range []Limits{{MaxKeys: 4}, {MaxSegments: 3}, {MaxMeta: 5}, {MaxArgs: 4}} {
		if _, err := Decode(seg, lim); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%+v: error %v, want ErrTooLarge", lim, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		data := codecEncodeT(b, codecF2Set(n))
		b.Run("Decode"+codecK(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				if _, err := Decode(data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
			b.ReportMetric(float64(len(data))/float64(n), "B/flag")
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		bd := codecF2Set(n)
		b.Run("Encode"+codecK(n), func(b *testing.B) {
			b.ReportAllocs()
			cpu := benchmetric.CPU()
			for b.Loop() {
				if _, err := Encode(bd); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
		})
	}
}

// BenchmarkDecodeJSON measures the alternative to this format:
// the same Bundle as an encoding/json document (variant values as base64,
// as encoding/json writes []byte), unmarshalled into the same structs.
func BenchmarkDecodeJSON(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		doc, err := json.Marshal(codecF2Set(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Unmarshal"+codecK(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			cpu := benchmetric.CPU()
			for b.Loop() {
				var out Bundle
				if err := json.Unmarshal(doc, &out); err != nil {
					b.Fatal(err)
				}
			}
			benchmetric.ReportCPU(b, cpu)
			b.ReportMetric(float64(len(doc))/float64(n), "B/flag")
		})
	}
}

func codecK(n int) string { return strconv.Itoa(n/1000) + "k" }
