package zstd

// The three sequence codes, in the order of the compression modes byte.
const (
	tLiteralLengths = iota
	tOffsets
	tMatchLengths
)

// code is what a sequence code stands for: a baseline and how many extra
// bits follow.
type code struct {
	base uint32
	bits uint8
}

// codes returns the codes of table t (RFC 8878 §3.1.1.3.2.1.1): literal
// lengths 0–35, offsets 0–30 (baseline minus 3 from code 2 on, so that
// codes 0 and 1 give the repeat offset index), match lengths 0–52 (the 3
// of the minimum match included).
func codes(t int) []code {
	var bits []uint8
	var c []code
	base := uint32(0)
	switch t {
	case tLiteralLengths:
		c = make([]code, 0, 36)
		for i := uint32(0); i < 16; i++ {
			c = append(c, code{base: i})
		}
		base = 16
		bits = []uint8{1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	case tMatchLengths:
		c = make([]code, 0, 53)
		for i := uint32(0); i < 32; i++ {
			c = append(c, code{base: i + 3})
		}
		base = 35
		bits = []uint8{1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	default:
		c = make([]code, 0, 31)
		c = append(c, code{}, code{base: 1, bits: 1})
		base = 1
		for b := uint8(2); b <= 30; b++ {
			bits = append(bits, b)
		}
	}
	for _, b := range bits {
		c = append(c, code{base: base, bits: b})
		base += 1 << b
	}
	return c
}

// predefined returns the default distribution of table t (RFC 8878
// §3.1.1.3.2.2) and its log.
func predefined(t int) ([]int16, uint8) {
	switch t {
	case tLiteralLengths:
		return []int16{4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
			-1, -1, -1, -1}, 6
	case tMatchLengths:
		return []int16{1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1}, 6
	}
	return []int16{1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1}, 5
}

// maxSymbols is the highest code of each table.
func maxSymbol(t int) int {
	return [3]int{35, 30, 52}[t]
}

// sequences decodes the sequences section b of a block and executes it
// with the block's literals, appending the block's output to dst.
func (f *frame) sequences(dst, lits, b []byte) ([]byte, error) {
	if len(b) < 1 {
		return dst, malformed("zstd: block too small")
	}
	var n int
	switch h := b[0]; {
	case h < 128:
		n = int(h)
		b = b[1:]
	case h < 255:
		if len(b) < 2 {
			return dst, malformed("zstd: block too small")
		}
		n = int(h-128)<<8 | int(b[1])
		b = b[2:]
	default:
		if len(b) < 3 {
			return dst, malformed("zstd: block too small")
		}
		n = 0x7f00 + int(b[1]) + int(b[2])<<8
		b = b[3:]
	}
	if n == 0 {
		if len(b) != 0 {
			return dst, malformed("zstd: data after an empty sequences section")
		}
		return append(dst, lits...), nil
	}
	if len(b) < 1 {
		return dst, malformed("zstd: block too small")
	}
	modes := b[0]
	b = b[1:]
	if modes&3 != 0 {
		return dst, malformed("zstd: reserved bits set in the compression modes")
	}
	var cs [3][]code
	for t := 0; t < 3; t++ {
		cs[t] = codes(t)
		switch (modes >> (6 - 2*t)) & 3 {
		case 0: // predefined
			norm, log := predefined(t)
			var nc [256]int16
			copy(nc[:], norm)
			tab := new(fseTable)
			if err := tab.build(&nc, len(norm), log); err != nil {
				return dst, err
			}
			f.tables[t] = tab
		case 1: // RLE
			if len(b) < 1 {
				return dst, malformed("zstd: block too small")
			}
			s := b[0]
			b = b[1:]
			if int(s) >= len(cs[t]) {
				return dst, malformed("zstd: RLE code out of range")
			}
			tab := new(fseTable)
			tab.entries[0] = fseEntry{symbol: s}
			f.tables[t] = tab
		case 2: // FSE
			var nc [256]int16
			log, symbols, used, err := readNCount(&nc, b, maxSymbol(t), 9)
			if err != nil {
				return dst, err
			}
			tab := new(fseTable)
			if err := tab.build(&nc, symbols, log); err != nil {
				return dst, err
			}
			f.tables[t] = tab
			b = b[used:]
		case 3: // repeat: the previous block's table
		}
	}
	var br bitReader
	if err := br.init(b); err != nil {
		return dst, err
	}
	for t := range f.tables {
		if f.tables[t] == nil {
			return dst, malformed("zstd: repeated sequence table without a previous one")
		}
	}
	ll, of, ml := f.tables[tLiteralLengths], f.tables[tOffsets], f.tables[tMatchLengths]
	llS, ofS, mlS := br.read(ll.log), br.read(of.log), br.read(ml.log)
	blockStart := len(dst)
	maxOut := int(min(f.window, maxBlock))
	window := int(min(f.window, 1<<31-1)) // offsets are below 2^31; int may be 32 bits
	rep := f.rep
	for i := n - 1; i >= 0; i-- {
		if br.pos < 0 {
			return dst, malformed("zstd: sequences read past the start of their stream")
		}
		lc, oc, mc := cs[tLiteralLengths][ll.entries[llS].symbol], cs[tOffsets][of.entries[ofS].symbol], cs[tMatchLengths][ml.entries[mlS].symbol]
		mo := int(oc.base) + int(br.read(oc.bits))
		mlen := int(mc.base) + int(br.read(mc.bits))
		llen := int(lc.base) + int(br.read(lc.bits))
		if oc.bits > 1 {
			rep[2], rep[1], rep[0] = rep[1], rep[0], mo
		} else {
			if llen == 0 {
				mo++
			}
			if mo == 0 {
				mo = rep[0]
			} else {
				var t int
				if mo == 3 {
					t = rep[0] - 1
				} else {
					t = rep[mo]
				}
				if t == 0 {
					t = 1 // as the reference decoder does with a corrupt repeat offset
				}
				if mo != 1 {
					rep[2] = rep[1]
				}
				rep[1], rep[0] = rep[0], t
				mo = t
			}
		}
		if llen > len(lits) {
			return dst, malformed("zstd: sequence needs more literals than the block has")
		}
		if len(dst)-blockStart+llen+mlen > maxOut {
			return dst, malformed("zstd: block output larger than a block")
		}
		if mlen > maxMatchLen {
			return dst, malformed("zstd: match too long")
		}
		dst = append(dst, lits[:llen]...)
		lits = lits[llen:]
		if mo == 0 && mlen > 0 {
			return dst, malformed("zstd: match at offset 0")
		}
		if mo > len(dst)-f.start || mo > window {
			return dst, malformed("zstd: match offset beyond the frame's output")
		}
		from := len(dst) - mo
		if mlen <= mo {
			dst = append(dst, dst[from:from+mlen]...)
		} else {
			for j := 0; j < mlen; j++ {
				dst = append(dst, dst[from+j])
			}
		}
		if i == 0 {
			break
		}
		llS = uint32(ll.entries[llS].next) + br.read(ll.entries[llS].nbBits)
		mlS = uint32(ml.entries[mlS].next) + br.read(ml.entries[mlS].nbBits)
		ofS = uint32(of.entries[ofS].next) + br.read(of.entries[ofS].nbBits)
	}
	if len(lits)+len(dst)-blockStart > maxOut {
		return dst, malformed("zstd: block output larger than a block")
	}
	dst = append(dst, lits...)
	if br.pos != 0 {
		return dst, malformed("zstd: sequences stream not consumed exactly")
	}
	f.rep = rep
	return dst, nil
}
