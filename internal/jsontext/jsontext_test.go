package jsontext

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func std(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// The hand-written output is exactly encoding/json's (HTML escaping off).
func TestMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s", "nl\n\r\t\x01\x1f\x7f", "line\u2028sep\u2029", "é€😀", "bad\xffutf8\xc3", "<a href='x'>&amp;</a>"} {
		if got, want := AppendString(nil, s), std(s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, encoding/json %s", s, got, want)
		}
	}
	for _, f := range []float64{0, 1, -1, 0.5, 12.5, 1e-6, 1e-7, 9.99e-7, 123456789, 1e20, 1e21, 1.5e300, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		if got, want := AppendFloat(nil, f), std(f); !bytes.Equal(got, want) {
			t.Errorf("%v: %s, encoding/json %s", f, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("x\u2028\x00\xff<>")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString(nil, s), std(s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}
