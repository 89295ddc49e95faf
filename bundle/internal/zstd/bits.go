package zstd

import "math/bits"

// bitReader reads a zstd backward bit stream: from the end of its bytes,
// starting below the highest set bit of the last byte (the end mark). pos
// is the number of bits left; reading past the start makes it negative
// (the missing bits read as zeros), which every caller treats as corrupt.
type bitReader struct {
	in  []byte
	pos int
}

func (br *bitReader) init(in []byte) error {
	if len(in) < 1 {
		return malformed("zstd: empty bit stream")
	}
	last := in[len(in)-1]
	if last == 0 {
		return malformed("zstd: bit stream without an end mark")
	}
	br.in = in
	br.pos = 8*(len(in)-1) + int(highBit(uint32(last)))
	return nil
}

// peek returns the next n bits (n ≤ 32) as a number, the first bit the
// most significant, without consuming them.
func (br *bitReader) peek(n uint8) uint32 {
	if n == 0 {
		return 0
	}
	lo := br.pos - int(n) // first bit index (from the start) of the n bits
	var v uint64
	if lo >= 0 && lo>>3+8 <= len(br.in) {
		i := lo >> 3
		b := br.in[i : i+8]
		v = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		v >>= uint(lo & 7)
	} else {
		// Near either end of the stream: bit by bit (zeros before the start).
		for k := int(n) - 1; k >= 0; k-- {
			j := lo + k
			v <<= 1
			if j >= 0 && j < 8*len(br.in) {
				v |= uint64(br.in[j>>3]>>(j&7)) & 1
			}
		}
		return uint32(v)
	}
	return uint32(v & (1<<n - 1))
}

func (br *bitReader) skip(n uint) { br.pos -= int(n) }

// read consumes and returns the next n bits (n ≤ 32).
func (br *bitReader) read(n uint8) uint32 {
	v := br.peek(n)
	br.pos -= int(n)
	return v
}

// highBit is the index of the highest set bit of v (v > 0).
func highBit(v uint32) uint32 { return uint32(31 - bits.LeadingZeros32(v)) }
