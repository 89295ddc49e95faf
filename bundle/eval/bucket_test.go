package eval

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Published MurmurHash3_x86_32 vectors. Sources: Ian Boyd's table of
// verified vectors in the Stack Overflow answer "MurmurHash3 test vectors"
// (https://stackoverflow.com/a/31929528, checked against the SMHasher
// reference), and "hello"/seed 0 = 0x248bfa47 from
// https://geratools.com/hash-murmur3.
func TestMurmur3Vectors(t *testing.T) {
	cases := []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514E28B7},
		{"", 0xffffffff, 0x81F16F39},
		{"\xff\xff\xff\xff", 0, 0x76293B50},
		{"\x21\x43\x65\x87", 0, 0xF55B516B},
		{"\x21\x43\x65\x87", 0x5082EDEE, 0x2362F9DE},
		{"\x21\x43\x65", 0, 0x7E4A8634},
		{"\x21\x43", 0, 0xA0F7B07A},
		{"\x21", 0, 0x72661CF4},
		{"\x00\x00\x00\x00", 0, 0x2362F9DE},
		{"\x00\x00\x00", 0, 0x85F0B427},
		{"\x00\x00", 0, 0x30F4C306},
		{"\x00", 0, 0x514E28B7},
		{"aaaa", 0x9747b28c, 0x5A97808A},
		{"aaa", 0x9747b28c, 0x283E0130},
		{"aa", 0x9747b28c, 0x5D211726},
		{"a", 0x9747b28c, 0x7FA09EA6},
		{"abcd", 0x9747b28c, 0xF0478627},
		{"abc", 0x9747b28c, 0xC84A62DD},
		{"ab", 0x9747b28c, 0x74875592},
		{"Hello, world!", 0x9747b28c, 0x24884CBA},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2FA826CD},
		{"hello", 0, 0x248bfa47},
	}
	for _, c := range cases {
		if got := murmur3([]byte(c.in), c.seed); got != c.want {
			t.Errorf("murmur3(%q, %#x) = %#08x, want %#08x", c.in, c.seed, got, c.want)
		}
	}
}

// vector is one row of the docs/bucketing.md table.
type vector struct {
	salt, unit string
	hash       uint32
	bucket     uint32
	s10, s3    string // variant for split {on:10, off:90} and {a:1, b:1, c:1}
}

// bucketVectors is the table published in docs/bucketing.md; the test
// below checks it against the implementation and against the document.
var bucketVectors = []vector{
	{"new-checkout", "user-123", 0x1b2a8cc2, 10611, "off", "a"},
	{"new-checkout", "user-124", 0xe5e82dee, 89807, "off", "c"},
	{"new-checkout", "", 0x951af755, 58244, "off", "b"},
	{"new-checkout", "12345", 0x453cbef0, 27045, "off", "a"},
	{"f2", "user-123", 0xa2d3a960, 63604, "off", "b"},
	{"f3", "user-123", 0x1b6ae93e, 10710, "off", "a"},
	{"f3", "user-1", 0x8a000255, 53906, "off", "b"},
	{"f3", "user-2", 0x5dae7272, 36594, "off", "b"},
	{"salt", "héllo", 0x02eb9493, 1140, "on", "a"},
	{"salt", "日本語", 0x9e5ecf53, 61863, "off", "b"},
	{"", "x", 0x7762873c, 46634, "off", "b"},
	{"checkout-v2", "acct-42", 0x1966d923, 9922, "on", "a"},
	{"a/b", "c", 0x8dcfb6d6, 55395, "off", "b"},
	{"exp-7", "-9007199254740992", 0x6229070a, 38343, "off", "b"},
}

// The reference forms of the bucketing steps (the engine's split uses a
// precomputed cumulative table with the same arithmetic).

// bucketOfUnit returns the bucket in [0, buckets) of unit under salt.
func bucketOfUnit(salt, unit string) uint32 {
	var buf [128]byte
	return bucketOf(appendHashInput(buf[:0], salt, unit))
}

func appendHashInput(b []byte, salt, unit string) []byte {
	b = append(b, salt...)
	b = append(b, '/')
	return append(b, unit...)
}

// pickArm returns the index of the arm that bucket falls in for the given
// weights (their sum must be positive and fit uint32), or -1 if the sum is
// zero.
func pickArm(bucket uint32, weights []uint32) int {
	var total uint64
	for _, w := range weights {
		total += uint64(w)
	}
	if total == 0 {
		return -1
	}
	x := uint64(bucket) * total
	var cum uint64
	for i, w := range weights {
		cum += uint64(w)
		if x < cum*buckets {
			return i
		}
	}
	return len(weights) - 1
}

func splitName(bucket uint32, weights []uint32, names []string) string {
	return names[pickArm(bucket, weights)]
}

func TestBucketVectors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/bucketing.md")
	if err != nil {
		t.Fatalf("read doc: %v", err)
	}
	var rows []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	if len(rows) != len(bucketVectors) {
		t.Fatalf("doc has %d vector rows, test has %d", len(rows), len(bucketVectors))
	}
	for i, v := range bucketVectors {
		h := murmur3([]byte(v.salt+"/"+v.unit), 0)
		b := bucketOfUnit(v.salt, v.unit)
		s10 := splitName(b, []uint32{10, 90}, []string{"on", "off"})
		s3 := splitName(b, []uint32{1, 1, 1}, []string{"a", "b", "c"})
		got := vector{v.salt, v.unit, h, b, s10, s3}
		if got != v {
			t.Errorf("vector %d: computed %s", i, fmtRow(got))
		}
		if rows[i] != fmtRow(v) {
			t.Errorf("doc row %d:\n got %s\nwant %s", i, rows[i], fmtRow(v))
		}
	}
}

func fmtRow(v vector) string {
	return fmt.Sprintf("| `%s` | `%s` | `%08x` | %d | %s | %s |", v.salt, v.unit, v.hash, v.bucket, v.s10, v.s3)
}

// engineFor loads one boolean flag with the given split weights [on, off].
func splitEngine(t testing.TB, salt string, weights ...uint32) *Engine {
	t.Helper()
	b := ir.NewBuilder("p", "e", ir.AudienceServer)
	ws := make([]ir.Weight, len(weights))
	names := []string{"a", "b", "c", "d"}
	vs := make([]ir.Variant, len(weights))
	for i, w := range weights {
		ws[i] = ir.Weight{Variant: int32(i), Weight: w}
		vs[i] = ir.Variant{Name: names[i], Value: jsonStr(names[i])}
	}
	b.Bundle.Flags = []ir.Flag{{Key: "x", Type: ir.TypeString, Enabled: true, Salt: salt, Variants: vs,
		Default: split(b, "targetingKey", ws...)}}
	return mustLoad(t, b.Bundle)
}

func unit(i int) Context { return Context{"targetingKey": "user-" + strconv.Itoa(i)} }

func within5sd(t *testing.T, what string, got, n int, p float64) {
	t.Helper()
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(got)-float64(n)*p) > 5*sd {
		t.Errorf("%s: %d of %d, want %.1f ± %.1f (5 sd)", what, got, n, float64(n)*p, 5*sd)
	}
}

func TestBucketStickiness(t *testing.T) {
	e := splitEngine(t, "sticky", 1, 1, 1)
	for i := 0; i < 1000; i++ {
		first := e.Evaluate("x", unit(i), testNow).Variant
		for k := 0; k < 3; k++ {
			if v := e.Evaluate("x", unit(i), testNow).Variant; v != first {
				t.Fatalf("unit %d: %s then %s", i, first, v)
			}
		}
		if e2 := splitEngine(t, "sticky", 1, 1, 1); i%100 == 0 && e2.Evaluate("x", unit(i), testNow).Variant != first {
			t.Fatalf("unit %d differs across loads", i)
		}
	}
}

func TestBucketGranularity(t *testing.T) {
	// A unit in bucket 0 gets the 1/100 000 arm.
	if pickArm(0, []uint32{1, 99999}) != 0 || pickArm(1, []uint32{1, 99999}) != 1 {
		t.Fatal("bucket 0 must select weight 1 of 100 000; bucket 1 must not")
	}
	// Find a unit landing in bucket 0 and check the engine serves it "a".
	e := splitEngine(t, "gran", 1, 99999)
	const n = 2000000
	on, found := 0, false
	var buf [64]byte
	for i := 0; i < n; i++ {
		u := append(buf[:0], "gran/user-"...)
		u = strconv.AppendInt(u, int64(i), 10)
		if bucketOf(u) == 0 {
			on++
			if !found {
				found = true
				if v := e.Evaluate("x", unit(i), testNow).Variant; v != "a" {
					t.Fatalf("unit %d in bucket 0 got %s", i, v)
				}
			}
		}
	}
	if !found {
		t.Fatal("no unit in bucket 0 among 2M")
	}
	within5sd(t, "bucket-0 share", on, n, 1.0/100000)
}

func TestBucketMonotoneRamp(t *testing.T) {
	e10 := splitEngine(t, "ramp", 10, 90)
	e25 := splitEngine(t, "ramp", 25, 75)
	n10 := 0
	for i := 0; i < 20000; i++ {
		if e10.Evaluate("x", unit(i), testNow).Variant == "a" {
			n10++
			if e25.Evaluate("x", unit(i), testNow).Variant != "a" {
				t.Fatalf("unit %d on at 10%% but off at 25%%", i)
			}
		}
	}
	within5sd(t, "10% ramp", n10, 20000, 0.10)
	// Three arms: raising arm b only moves units into b.
	before := splitEngine(t, "ramp3", 30, 20, 50)
	after := splitEngine(t, "ramp3", 30, 35, 35)
	moved := 0
	for i := 0; i < 20000; i++ {
		x, y := before.Evaluate("x", unit(i), testNow).Variant, after.Evaluate("x", unit(i), testNow).Variant
		if x != y {
			moved++
			if y != "b" {
				t.Fatalf("unit %d moved %s -> %s, want only moves into b", i, x, y)
			}
		}
	}
	within5sd(t, "moved into b", moved, 20000, 0.15)
}

func TestBucketIndependence(t *testing.T) {
	a, b := splitEngine(t, "flag-one", 1, 1), splitEngine(t, "flag-two", 1, 1)
	const n = 20000
	both := 0
	for i := 0; i < n; i++ {
		if a.Evaluate("x", unit(i), testNow).Variant == "a" && b.Evaluate("x", unit(i), testNow).Variant == "a" {
			both++
		}
	}
	within5sd(t, "overlap of two 50% rollouts", both, n, 0.25)
}

func TestBucketDistribution(t *testing.T) {
	e := splitEngine(t, "dist", 10, 20, 30, 40)
	const n = 40000
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[e.Evaluate("x", unit(i), testNow).Variant]++
	}
	for i, name := range []string{"a", "b", "c", "d"} {
		within5sd(t, "arm "+name, counts[name], n, float64(i+1)/10)
	}
	// Zero-weight arms are never picked.
	z := splitEngine(t, "dist", 0, 1, 0)
	for i := 0; i < 2000; i++ {
		if v := z.Evaluate("x", unit(i), testNow).Variant; v != "b" {
			t.Fatalf("zero-weight arm %s picked", v)
		}
	}
}

// TestEngineMatchesReference checks the engine's precomputed split tables
// against the reference steps, numeric units included.
func TestEngineMatchesReference(t *testing.T) {
	weights := []uint32{3, 0, 5, 2}
	e := splitEngine(t, "ref", weights...)
	names := []string{"a", "b", "c", "d"}
	for i := -2500; i < 2500; i++ {
		ctx := Context{"targetingKey": i}
		want := names[pickArm(bucketOfUnit("ref", strconv.Itoa(i)), weights)]
		if got := e.Evaluate("x", ctx, testNow).Variant; got != want {
			t.Fatalf("unit %d: engine %s, reference %s", i, got, want)
		}
		ctx["targetingKey"] = "u" + strconv.Itoa(i)
		want = names[pickArm(bucketOfUnit("ref", "u"+strconv.Itoa(i)), weights)]
		if got := e.Evaluate("x", ctx, testNow).Variant; got != want {
			t.Fatalf("unit u%d: engine %s, reference %s", i, got, want)
		}
	}
}

// TestHashPrefix checks the load-time prefix state against hashing the
// concatenation, for every prefix and unit length modulo 4.
func TestHashPrefix(t *testing.T) {
	for ls := 0; ls < 9; ls++ {
		salt := strings.Repeat("s", ls)
		hp := newHashPrefix(salt)
		for lu := 0; lu < 13; lu++ {
			unit := strings.Repeat("é", lu/2) + strings.Repeat("u", lu%2)
			want := murmur3([]byte(salt+"/"+unit), 0)
			if got := sum(&hp, unit); got != want {
				t.Fatalf("salt %q unit %q: %#x, want %#x", salt, unit, got, want)
			}
			if got := sum(&hp, []byte(unit)); got != want {
				t.Fatalf("salt %q unit %q as bytes: %#x, want %#x", salt, unit, got, want)
			}
		}
	}
}
