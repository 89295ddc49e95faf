package sha2

import (
	"crypto/sha256"
	"crypto/sha512"
	"math/rand/v2"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// TestAgainstStd: every length from 0 to 600 (every padding case of both
// block sizes) and random longer inputs, split into random parts for
// Sum512, give the standard library's digests.
func TestAgainstStd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 70_000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lengths := []int{}
	for n := 0; n <= 600; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4095, 4096, 65_537, 70_000)
	for _, n := range lengths {
		in := data[:n]
		if got, want := Sum256(in), sha256.Sum256(in); got != want {
			t.Fatalf("Sum256 of %d bytes = %x, want %x", n, got, want)
		}
		want := sha512.Sum512(in)
		var parts [][]byte
		for rest := in; len(rest) > 0; {
			k := min(len(rest), rng.IntN(300))
			parts = append(parts, rest[:k])
			rest = rest[k:]
		}
		if got := Sum512(parts...); got != want {
			t.Fatalf("Sum512 of %d bytes in %d parts = %x, want %x", n, len(parts), got, want)
		}
	}
}

func FuzzAgainstStd(f *testing.F) {
	f.Add([]byte("abc"), 1)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if Sum256(in) != sha256.Sum256(in) {
			t.Fatal("Sum256")
		}
		c := 0
		if len(in) > 0 {
			c = int(uint(cut) % uint(len(in)+1))
		}
		if Sum512(in[:c], nil, in[c:]) != sha512.Sum512(in) {
			t.Fatal("Sum512")
		}
	})
}

func TestPurityFence(t *testing.T) {
	fence.Check(t, ".", map[string]bool{"encoding/binary": true, "math/bits": true})
}
