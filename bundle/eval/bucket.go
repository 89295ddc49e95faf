package eval

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
)

// Bucketing, byte for byte (docs/bucketing.md):
//
//	h      = MurmurHash3_x86_32(utf8(salt + "/" + unit), seed 0)
//	bucket = (uint64(h) * 100000) >> 32          in [0, 100000)
//	T      = sum of the split's weights
//	arm    = first i with bucket*T < cum_i*100000  (cum_i = w_0+...+w_i)

// buckets is the bucketing granularity: 1/100 000.
const buckets = 100000

// murmur3 returns MurmurHash3_x86_32 of data with the given seed, as
// specified by Austin Appleby's reference implementation (SMHasher,
// MurmurHash3.cpp).
func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data)
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		data = data[4:]
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
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

func bucketOf(input []byte) uint32 {
	return uint32((uint64(murmur3(input, 0)) * buckets) >> 32)
}

// maxSafeInt is 2^53: integers up to this magnitude are exact in float64
// and in JavaScript numbers.
const maxSafeInt = 1 << 53

// appendUnit appends the bucketing unit of v (a string, or an integral
// number with |x| <= 2^53 in base 10) and reports whether v has one.
func appendUnit(b []byte, k kind, s string, f float64) ([]byte, bool) {
	switch k {
	case kStr:
		return append(b, s...), true
	case kNum:
		if f != math.Trunc(f) || f > maxSafeInt || f < -maxSafeInt {
			return b, false
		}
		return strconv.AppendInt(b, int64(f), 10), true
	}
	return b, false
}
