package eval

import (
	"strconv"
	"testing"
)

func TestKeyIndex(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100, 10000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "flag-" + strconv.Itoa(i)
		}
		ix := newKeyIndex(keys)
		for i, k := range keys {
			if got := ix.find(k, keys); got != int32(i) {
				t.Fatalf("n=%d: find(%q) = %d, want %d", n, k, got, i)
			}
		}
		for _, k := range []string{"", "flag-", "flag-" + strconv.Itoa(n), "x"} {
			if got := ix.find(k, keys); got != -1 {
				t.Fatalf("n=%d: find(%q) = %d, want -1", n, k, got)
			}
		}
	}
}
