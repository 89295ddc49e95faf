package ir

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeNotAliased checks that a decoded Bundle is the caller's:
// flags whose variant lists, rule lists and splits are encoded
// identically still get their own slices, variant values their own
// bytes, and nothing shares memory with the input. A write through one
// flag must not show in another, nor a write to the input in the bundle.
func TestDecodeNotAliased(t *testing.T) {
	data := codecEncodeT(t, codecF2Set(3))
	out, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	f0, f1 := &out.Flags[0], &out.Flags[1]
	if codecShared(f0.Variants, f1.Variants) || codecShared(f0.Rules, f1.Rules) || codecShared(f0.Default.Split, f1.Default.Split) {
		t.Fatal("identical lists decoded to shared slices")
	}
	f0.Variants[0].Value[1] = 'X'
	f0.Rules[0].ID = "changed"
	f0.Default.Split[0].Weight = 99
	f0.Variants = append(f0.Variants[:1], Variant{Name: "appended"})
	if string(f1.Variants[0].Value) != `"a"` || f1.Rules[0].ID != "r-internal" || f1.Default.Split[0].Weight != 50 ||
		f1.Variants[1].Name != "b" {
		t.Fatalf("a write through flag 0 shows in flag 1: %+v", f1)
	}
	for i := range data {
		data[i] = 0
	}
	if string(f1.Variants[4].Value) != `"senior"` || out.Flags[2].Key != "f2_00002" {
		t.Fatal("the decoded bundle changed with its input")
	}
}

// TestDecodeTotalLimits checks that total limits count every flag's
// lists, identical or not, and fail at the flag that crosses them.
func TestDecodeTotalLimits(t *testing.T) {
	// 3 F2-like flags: 15 variants, 9 rules, 6 split arms (the defaults').
	data := codecEncodeT(t, codecF2Set(3))
	cases := []struct {
		name string
		lim  Limits
		want string
	}{
		{"variants", Limits{MaxVariants: 14}, "flag 2"},
		{"rules", Limits{MaxRules: 8}, "flag 2"},
		{"split arms", Limits{MaxWeights: 5}, "flag 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(data, c.lim)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrTooLarge at %s", err, c.want)
			}
			r, err := NewReader(data, c.lim)
			if err != nil {
				t.Fatal(err)
			}
			var f Flag
			for r.Next(&f) {
			}
			if err := r.Err(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Reader: got %v, want ErrTooLarge at %s", err, c.want)
			}
		})
	}
	ok := Limits{MaxVariants: 15, MaxRules: 9, MaxWeights: 6}
	if _, err := Decode(data, ok); err != nil {
		t.Fatalf("exact limits: %v", err)
	}
}

// codecShared reports whether a and b are the same non-empty slice.
func codecShared[T any](a, b []T) bool {
	return len(a) != 0 && len(a) == len(b) && &a[0] == &b[0]
}
