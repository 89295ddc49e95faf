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

// hashPrefix is MurmurHash3's state after the constant prefix salt+"/",
// computed once at load, so evaluation hashes only the unit, read in place
// (no copying into a buffer).
type hashPrefix struct {
	h    uint32 // state after the prefix's whole 4-byte blocks
	tail uint32 // the prefix's n%4 leftover bytes, little-endian
	n    uint32 // prefix length in bytes (mod 2^32, as MurmurHash3 counts it)
}

func mixK(k uint32) uint32 {
	k *= 0xcc9e2d51
	k = bits.RotateLeft32(k, 15)
	return k * 0x1b873593
}

func mixH(h, k uint32) uint32 {
	h ^= mixK(k)
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

func fmix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func newHashPrefix(salt string) hashPrefix {
	hp := hashPrefix{n: uint32(len(salt) + 1)} // salt + "/"
	i := 0
	for ; i+4 <= len(salt); i += 4 {
		hp.h = mixH(hp.h, uint32(salt[i])|uint32(salt[i+1])<<8|uint32(salt[i+2])<<16|uint32(salt[i+3])<<24)
	}
	nt := 0
	for ; i < len(salt); i++ {
		hp.tail |= uint32(salt[i]) << (8 * nt)
		nt++
	}
	hp.tail |= '/' << (8 * nt)
	if nt == 3 { // "/" completes a block
		hp.h, hp.tail = mixH(hp.h, hp.tail), 0
	}
	return hp
}

// sum returns murmur3(prefix + unit, 0).
func sum[T string | []byte](hp *hashPrefix, unit T) uint32 {
	h, k, nt := hp.h, hp.tail, int32(hp.n&3)
	i := 0
	for nt < 4 && i < len(unit) {
		k |= uint32(unit[i]) << (8 * nt)
		nt++
		i++
	}
	if nt == 4 {
		h = mixH(h, k)
		k, nt = 0, 0
		for ; i+4 <= len(unit); i += 4 {
			h = mixH(h, uint32(unit[i])|uint32(unit[i+1])<<8|uint32(unit[i+2])<<16|uint32(unit[i+3])<<24)
		}
		for ; i < len(unit); i++ {
			k |= uint32(unit[i]) << (8 * nt)
			nt++
		}
	}
	if nt > 0 {
		h ^= mixK(k)
	}
	return fmix(h ^ (hp.n + uint32(len(unit))))
}

// unitBucket returns the bucket of the unit (k, s, f) under the prefix, and
// false when the value is not a bucketing unit.
func (hp *hashPrefix) unitBucket(k kind, s string, f float64) (uint32, bool) {
	var h uint32
	switch k {
	case kStr:
		h = sum(hp, s)
	case kNum:
		if f != math.Trunc(f) || f > maxSafeInt || f < -maxSafeInt {
			return 0, false
		}
		var buf [24]byte
		h = sum(hp, strconv.AppendInt(buf[:0], int64(f), 10))
	default:
		return 0, false
	}
	return uint32((uint64(h) * buckets) >> 32), true
}
