package ir

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// readAll runs a Reader over data and returns copies of the flags it
// yields, its Repeated answers, and its error.
func readAll(data []byte, lim Limits) (*Bundle, [][2]bool, error) {
	r, err := NewReader(data, lim)
	if err != nil {
		return nil, nil, err
	}
	b := *r.Tables()
	var reps [][2]bool
	var f Flag
	for r.Next(&f) {
		vals := r.Values()
		if len(vals) != len(f.Variants) {
			return nil, nil, errors.New("Values and Variants differ in length")
		}
		parsed := r.Parsed()
		if v, _ := r.Repeated(); v != (parsed == nil) {
			return nil, nil, errors.New("Parsed is nil exactly when the variants repeat")
		}
		for k, v := range f.Variants {
			if vals[k] != string(v.Value) {
				return nil, nil, errors.New("Values()[k] is not Variants[k].Value")
			}
			if want, err := ParseJSON(v.Value); parsed != nil && (err != nil || !reflect.DeepEqual(parsed[k], want)) {
				return nil, nil, errors.New("Parsed()[k] is not ParseJSON(Variants[k].Value)")
			}
		}
		b.Flags = append(b.Flags, codecCopyFlag(f))
		v, rl := r.Repeated()
		reps = append(reps, [2]bool{v, rl})
	}
	if r.Err() != nil {
		return nil, nil, r.Err()
	}
	if r.Next(&f) || len(b.Flags) != r.Len() {
		return nil, nil, errors.New("Next after the end, or a flag count other than Len")
	}
	return &b, reps, nil
}

// codecCopyFlag copies f so that nothing of it is shared with the
// Reader's reused arrays or its input.
func codecCopyFlag(f Flag) Flag {
	vs := make([]Variant, len(f.Variants))
	for i, v := range f.Variants {
		vs[i] = Variant{Name: v.Name, Value: append([]byte(nil), v.Value...)}
	}
	f.Variants = vs
	rs := make([]Rule, len(f.Rules))
	for i, r := range f.Rules {
		r.Serve.Split = codecNilIfEmpty(append([]Weight(nil), r.Serve.Split...))
		rs[i] = r
	}
	f.Rules = codecNilIfEmpty(rs)
	f.Default.Split = codecNilIfEmpty(append([]Weight(nil), f.Default.Split...))
	f.Metadata = codecNilIfEmpty(append([]Meta(nil), f.Metadata...))
	f.Variants = codecNilIfEmpty(f.Variants)
	return f
}

func codecNilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestReaderMatchesDecode checks that a Reader yields exactly the flags
// Decode decodes, and Repeated answers what the encodings repeat.
func TestReaderMatchesDecode(t *testing.T) {
	for name, b := range map[string]*Bundle{"f123": codecF123(), "f2x4": codecF2Set(4), "own rules": codecOwnRules(4),
		"valid": validBundle(), "segments": codecSegments()} {
		data := codecEncodeT(t, b)
		want, err := Decode(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if err := want.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, reps, err := readAll(data, Limits{})
		if err != nil {
			t.Fatalf("%s: Reader: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Reader flags differ from Decode's:\n got %+v\nwant %+v", name, got.Flags, want.Flags)
		}
		switch name {
		case "f2x4": // identical flags: everything after the first repeats
			if reps[0] != [2]bool{false, false} || reps[3] != [2]bool{true, true} {
				t.Errorf("f2x4: Repeated %v", reps)
			}
		case "own rules": // same variants, own rules
			if reps[2] != [2]bool{true, false} {
				t.Errorf("own rules: Repeated %v", reps)
			}
		}
	}
}

// TestReaderErrors checks that a Reader rejects what Decode or Validate
// rejects, with the same sentinel: decode errors and validation errors
// (ErrInvalid), in the tables and in a flag.
func TestReaderErrors(t *testing.T) {
	good := codecEncodeT(t, codecF2Set(2))
	cases := map[string]struct {
		data []byte
		want error
	}{
		"truncated":     {good[:len(good)-3], ErrTruncated},
		"trailing":      {append(append([]byte(nil), good...), 0), ErrTrailingData},
		"invalid flag":  {codecEncodeT(t, codecMutated(func(b *Bundle) { b.Flags[1].DefaultVariant = 9 })), ErrInvalid},
		"invalid table": {codecEncodeT(t, codecMutated(func(b *Bundle) { b.Nodes[0].A = 99 })), ErrInvalid},
		"unsorted":      {codecEncodeT(t, codecMutated(func(b *Bundle) { b.Flags[0], b.Flags[1] = b.Flags[1], b.Flags[0] })), ErrInvalid},
	}
	for name, c := range cases {
		_, _, err := readAll(c.data, Limits{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Reader error %v, want %v", name, err, c.want)
		}
		// The operation is named once, by the function that failed.
		if msg := err.Error(); !(strings.HasPrefix(msg, "decode bundle: ") || strings.HasPrefix(msg, "validate bundle: ")) ||
			strings.Count(msg, "decode bundle")+strings.Count(msg, "validate bundle") != 1 {
			t.Errorf("%s: message %q does not name one operation once", name, msg)
		}
		b, derr := Decode(c.data, Limits{})
		if derr == nil {
			derr = b.Validate()
		}
		if !errors.Is(derr, c.want) {
			t.Errorf("%s: Decode+Validate error %v, want %v", name, derr, c.want)
		}
	}
}

func codecMutated(fn func(*Bundle)) *Bundle {
	b := codecF2Set(2)
	fn(b)
	return b
}

// FuzzReader checks that a Reader accepts exactly what Decode followed by
// Validate accepts, and then yields the same flags.
func FuzzReader(f *testing.F) {
	for _, b := range []*Bundle{codecF123(), codecF2Set(4), codecOwnRules(3), validBundle(), codecSegments()} {
		data, err := Encode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := Decode(data, Limits{})
		if err == nil {
			err = want.Validate()
		}
		got, _, rerr := readAll(data, Limits{})
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Decode+Validate: %v; Reader: %v", err, rerr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Reader flags differ:\n got %+v\nwant %+v", got.Flags, want.Flags)
		}
	})
}
