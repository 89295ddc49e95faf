package ir

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeSharesRepeatedSections checks that identically encoded variant
// lists, rule lists and splits decode to one shared slice, that the result
// is still equal to what was encoded, and that sections which differ are
// not shared.
func TestDecodeSharesRepeatedSections(t *testing.T) {
	in := codecVariedSet(3)
	data := codecEncodeT(t, in)
	out, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if again := codecEncodeT(t, out); string(again) != string(data) {
		t.Fatal("Encode(Decode(x)) != x")
	}
	f0, f1 := &out.Flags[0], &out.Flags[1]
	if !codecShared(f0.Variants, f1.Variants) {
		t.Error("identical variant lists were not shared")
	}
	if !codecShared(f0.Default.Split, f1.Default.Split) {
		t.Error("identical default splits were not shared")
	}
	if codecShared(f0.Rules, f1.Rules) {
		t.Error("rule lists with different conditions were shared")
	}
	if f0.Rules[0].When == f1.Rules[0].When {
		t.Fatal("test set: the varied flags should have different rule conditions")
	}

	same, err := Decode(codecEncodeT(t, codecF2Set(3)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !codecShared(same.Flags[0].Rules, same.Flags[2].Rules) {
		t.Error("identical rule lists were not shared")
	}
}

// TestDecodeRepeatedSectionsCountLimits checks that a shared section still
// counts toward the total limits: the totals are the same as without
// sharing, so the limit just below the real total fails, at the flag that
// crosses it.
func TestDecodeRepeatedSectionsCountLimits(t *testing.T) {
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
