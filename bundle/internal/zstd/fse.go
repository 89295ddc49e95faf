package zstd

import "encoding/binary"

// fseEntry is one state of an FSE decoding table.
type fseEntry struct {
	symbol uint8
	nbBits uint8
	next   uint16 // base of the next state
}

// fseTable is an FSE decoding table (log 0: RLE, one symbol, no bits).
type fseTable struct {
	log     uint8
	entries [1 << 9]fseEntry
}

// readNCount reads an FSE table description (RFC 8878 §4.1.1) from the
// start of in into norm and returns the table log, the symbol count and
// the bytes read. It reads as the reference decoder does, through a 32-bit
// window that stops four bytes before the end of in, so that it refuses
// exactly what the klauspost decoder refuses; a description that needs
// bits past the end of in is an error.
func readNCount(norm *[256]int16, in []byte, maxSymbol int, maxLog uint) (log uint8, symbols int, n int, err error) {
	if len(in) < 4 {
		return 0, 0, 0, malformed("zstd: FSE table description too small")
	}
	off := 0
	u32 := func() uint32 { return binary.LittleEndian.Uint32(in[off:]) }
	bitStream := u32()
	nbBits := uint(bitStream&0xF) + 5
	if nbBits > maxLog {
		return 0, 0, 0, malformed("zstd: FSE table log too large")
	}
	log = uint8(nbBits)
	bitStream >>= 4
	bitCount := uint(4)
	remaining := int32(1<<nbBits) + 1
	threshold := int32(1 << nbBits)
	total := int32(0)
	nbBits++
	charnum := 0
	previous0 := false
	for remaining > 1 && charnum <= maxSymbol {
		if previous0 {
			n0 := charnum
			for bitStream&0xFFFF == 0xFFFF {
				n0 += 24
				if len(in)-off > 5 {
					off += 2
					bitStream = u32() >> bitCount
				} else {
					bitStream >>= 16
					bitCount += 16
				}
			}
			for bitStream&3 == 3 {
				n0 += 3
				bitStream >>= 2
				bitCount += 2
			}
			n0 += int(bitStream & 3)
			bitCount += 2
			if n0 > 255 {
				return 0, 0, 0, malformed("zstd: FSE table has too many symbols")
			}
			for charnum < n0 {
				norm[charnum&0xff] = 0
				charnum++
			}
			if r := len(in) - off; r >= 7 || r-int(bitCount>>3) >= 4 {
				off += int(bitCount >> 3)
				bitCount &= 7
				bitStream = u32() >> bitCount
			} else {
				bitStream >>= 2
			}
		}
		max := 2*threshold - 1 - remaining
		var count int32
		if int32(bitStream)&(threshold-1) < max {
			count = int32(bitStream) & (threshold - 1)
			bitCount += nbBits - 1
		} else {
			count = int32(bitStream) & (2*threshold - 1)
			if count >= threshold {
				count -= max
			}
			bitCount += nbBits
		}
		count--
		if count < 0 {
			remaining += count
			total -= count
		} else {
			remaining -= count
			total += count
		}
		norm[charnum&0xff] = int16(count)
		charnum++
		previous0 = count == 0
		for remaining < threshold {
			nbBits--
			threshold >>= 1
		}
		if r := len(in) - off; r >= 7 || r-int(bitCount>>3) >= 4 {
			off += int(bitCount >> 3)
			bitCount &= 7
		} else {
			bitCount -= uint(8 * (len(in) - 4 - off))
			off = len(in) - 4
		}
		bitStream = u32() >> (bitCount & 31)
	}
	switch {
	case charnum <= 1:
		return 0, 0, 0, malformed("zstd: FSE table with fewer than two symbols")
	case charnum > maxSymbol+1:
		return 0, 0, 0, malformed("zstd: FSE table has too many symbols")
	case remaining != 1:
		return 0, 0, 0, malformed("zstd: FSE table probabilities do not add up")
	case bitCount > 32:
		return 0, 0, 0, malformed("zstd: FSE table description runs past its end")
	case total != 1<<log:
		return 0, 0, 0, malformed("zstd: FSE table probabilities do not add up")
	}
	return log, charnum, off + int((bitCount+7)>>3), nil
}

// build spreads the normalized counts norm[:symbols] into t (RFC 8878
// §4.1.1), refusing a distribution that does not fill the table once or
// has a state that would stay itself without reading a bit.
func (t *fseTable) build(norm *[256]int16, symbols int, log uint8) error {
	size := uint32(1) << log
	high := size - 1
	var next [256]uint16
	for s, c := range norm[:symbols] {
		if c == -1 {
			t.entries[high].symbol = uint8(s)
			high--
			c = 1
		}
		next[s] = uint16(c)
	}
	step := size>>1 + size>>3 + 3
	mask := size - 1
	pos := uint32(0)
	for s, c := range norm[:symbols] {
		for i := int16(0); i < c; i++ {
			t.entries[pos].symbol = uint8(s)
			for {
				pos = (pos + step) & mask
				if pos <= high {
					break
				}
			}
		}
	}
	if pos != 0 {
		return malformed("zstd: FSE table does not fill its states")
	}
	for u := uint32(0); u < size; u++ {
		e := &t.entries[u]
		ns := next[e.symbol]
		next[e.symbol]++
		nb := uint8(uint32(log) - highBit(uint32(ns)))
		e.nbBits = nb
		e.next = ns<<nb - uint16(size)
		if uint32(e.next) == u && nb == 0 {
			return malformed("zstd: FSE state loops without reading")
		}
	}
	t.log = log
	return nil
}

// fseWeights decodes FSE-compressed Huffman weights (in: the description
// and the bit stream, two interleaved states) into w and returns their
// count, at most 255.
func fseWeights(w []byte, in []byte) (int, error) {
	var norm [256]int16
	log, symbols, n, err := readNCount(&norm, in, 255, 15)
	if err != nil {
		return 0, err
	}
	var t fseTable
	if err := t.build(&norm, symbols, log); err != nil {
		return 0, err
	}
	var br bitReader
	if err := br.init(in[n:]); err != nil {
		return 0, err
	}
	s1 := br.read(log)
	s2 := br.read(log)
	// A state is finished when no bits are left and its next step would
	// read some: its own symbol is then the last one it gives.
	finished := func(s uint32) bool { return br.pos <= 0 && t.entries[s].nbBits > 0 }
	step := func(s *uint32) byte {
		e := &t.entries[*s]
		*s = uint32(e.next) + br.read(e.nbBits)
		return e.symbol
	}
	k := 0
	put := func(b byte) {
		if k < len(w) {
			w[k] = b
		}
		k++
	}
	for {
		if finished(s1) {
			put(t.entries[s1].symbol)
			put(t.entries[s2].symbol)
			break
		}
		put(step(&s1))
		if finished(s2) {
			put(t.entries[s2].symbol)
			put(t.entries[s1].symbol)
			break
		}
		put(step(&s2))
		if k > 255 {
			break
		}
	}
	if k > 255 {
		return 0, malformed("zstd: too many Huffman weights")
	}
	if br.pos < 0 {
		return 0, malformed("zstd: Huffman weights stream read past its start")
	}
	return k, nil
}
