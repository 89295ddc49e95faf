package zstd

// huffTable is a Huffman decoding table: for each tableLog-bit prefix of
// the stream, the symbol and its code length.
type huffTable struct {
	log     uint8
	entries []uint16 // symbol<<8 | code length
}

// scratch holds buffers a frame reuses from block to block.
type scratch struct {
	lits    []byte
	weights [256]byte
	huff    huffTable
}

const huffMaxLog = 11

// literals decodes the literals section at the start of the compressed
// block b and returns the literals and the rest of the block.
func (f *frame) literals(b []byte) ([]byte, []byte, error) {
	if len(b) < 2 {
		return nil, nil, malformed("zstd: block too small")
	}
	typ := b[0] & 3
	format := (b[0] >> 2) & 3
	var regen, comp int
	four := false
	switch typ {
	case 0, 1: // raw, RLE
		switch format {
		case 0, 2:
			regen = int(b[0] >> 3)
			b = b[1:]
		case 1:
			regen = int(b[0]>>4) + int(b[1])<<4
			b = b[2:]
		case 3:
			if len(b) < 3 {
				return nil, nil, malformed("zstd: block too small")
			}
			regen = int(b[0]>>4) + int(b[1])<<4 + int(b[2])<<12
			b = b[3:]
		}
	default: // compressed, treeless
		switch format {
		case 0, 1:
			if len(b) < 3 {
				return nil, nil, malformed("zstd: block too small")
			}
			n := int(b[0]>>4) + int(b[1])<<4 + int(b[2])<<12
			regen, comp = n&1023, n>>10
			four = format == 1
			b = b[3:]
		case 2:
			if len(b) < 4 {
				return nil, nil, malformed("zstd: block too small")
			}
			n := int(b[0]>>4) + int(b[1])<<4 + int(b[2])<<12 + int(b[3])<<20
			regen, comp = n&16383, n>>14
			four = true
			b = b[4:]
		case 3:
			if len(b) < 5 {
				return nil, nil, malformed("zstd: block too small")
			}
			// 36 bits: more than an int holds in 32-bit wasm.
			n := uint64(b[0]>>4) | uint64(b[1])<<4 | uint64(b[2])<<12 | uint64(b[3])<<20 | uint64(b[4])<<28
			regen, comp = int(n&262143), int(n>>18)
			four = true
			b = b[5:]
		}
	}
	if uint64(regen) > f.window || regen > maxBlock {
		return nil, nil, tooLarge("zstd: literals larger than the window")
	}
	switch typ {
	case 0:
		if len(b) < regen {
			return nil, nil, malformed("zstd: truncated literals")
		}
		return b[:regen], b[regen:], nil
	case 1:
		if len(b) < 1 {
			return nil, nil, malformed("zstd: truncated literals")
		}
		lits := f.litBuf(regen)
		for i := range lits {
			lits[i] = b[0]
		}
		return lits, b[1:], nil
	}
	if len(b) < comp {
		return nil, nil, malformed("zstd: truncated literals")
	}
	in, rest := b[:comp], b[comp:]
	if typ == 2 {
		var err error
		if in, err = f.readHuffTable(in); err != nil {
			return nil, nil, err
		}
		f.huff = &f.scratch.huff
	} else if f.huff == nil {
		return nil, nil, malformed("zstd: treeless literals without a previous table")
	}
	lits := f.litBuf(regen)
	var err error
	if four {
		err = f.huff.decode4(lits, in)
	} else {
		err = f.huff.decode1(lits, in)
	}
	if err != nil {
		return nil, nil, err
	}
	return lits, rest, nil
}

// litBuf returns a buffer of n bytes for literals.
func (f *frame) litBuf(n int) []byte {
	if cap(f.scratch.lits) < n {
		f.scratch.lits = make([]byte, n, max(n, 4096))
	}
	return f.scratch.lits[:n]
}

// readHuffTable reads a Huffman tree description from the start of in
// into the frame's table and returns the rest of in.
func (f *frame) readHuffTable(in []byte) ([]byte, error) {
	if len(in) <= 1 {
		return nil, malformed("zstd: Huffman table too small")
	}
	w := f.scratch.weights[:]
	var n int
	hdr := int(in[0])
	in = in[1:]
	if hdr >= 128 {
		n = hdr - 127
		size := (n + 1) / 2
		if size > len(in) {
			return nil, malformed("zstd: Huffman table too small")
		}
		for i := 0; i < n; i += 2 {
			w[i] = in[i/2] >> 4
			w[i+1] = in[i/2] & 15
		}
		in = in[size:]
	} else {
		if len(in) < hdr {
			return nil, malformed("zstd: Huffman table too small")
		}
		if in[0]&15+5 > 6 {
			return nil, malformed("zstd: Huffman weights table log too large")
		}
		var err error
		if n, err = fseWeights(w, in[:hdr]); err != nil {
			return nil, err
		}
		in = in[hdr:]
	}
	var rank [16]uint32
	for _, x := range w[:n] {
		if x > huffMaxLog {
			return nil, malformed("zstd: Huffman weight too large")
		}
		rank[x]++
	}
	var total uint32
	for i := 1; i <= huffMaxLog; i++ {
		total += rank[i] << (i - 1)
	}
	if total == 0 {
		return nil, malformed("zstd: Huffman weights all zero")
	}
	log := highBit(total) + 1
	if log > huffMaxLog {
		return nil, malformed("zstd: Huffman table log too large")
	}
	rest := uint32(1)<<log - total
	last := highBit(rest) + 1
	if uint32(1)<<highBit(rest) != rest {
		return nil, malformed("zstd: Huffman weights do not sum to a power of two")
	}
	w[n] = byte(last)
	n++
	rank[last]++
	if rank[1] < 2 || rank[1]&1 != 0 {
		return nil, malformed("zstd: Huffman weights: odd or too few codes of the longest length")
	}
	// Start of each weight's run in the table: lower weights (longer
	// codes) first, symbols in order within a weight.
	var next [16]uint32
	var pos uint32
	for x := 1; x <= int(log); x++ {
		next[x] = pos
		pos += rank[x] << (x - 1)
	}
	t := &f.scratch.huff
	t.log = uint8(log)
	if cap(t.entries) < 1<<huffMaxLog {
		t.entries = make([]uint16, 1<<huffMaxLog)
	}
	t.entries = t.entries[:1<<log]
	for sym, x := range w[:n] {
		if x == 0 {
			continue
		}
		e := uint16(sym)<<8 | uint16(log+1-uint32(x))
		run := uint32(1) << x >> 1
		for i := next[x]; i < next[x]+run; i++ {
			t.entries[i] = e
		}
		next[x] += run
	}
	return in, nil
}

// decode1 decodes one Huffman stream into exactly len(dst) symbols,
// consuming exactly all its bits.
func (t *huffTable) decode1(dst, in []byte) error {
	var br bitReader
	if err := br.init(in); err != nil {
		return err
	}
	n, err := t.stream(dst, 0, len(dst), &br, false)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return malformed("zstd: literals stream shorter than declared")
	}
	return nil
}

// decode4 decodes four Huffman streams (after a six-byte jump table), each
// into its quarter of dst.
func (t *huffTable) decode4(dst, in []byte) error {
	if len(in) < 6+4 {
		return malformed("zstd: literals streams too small")
	}
	every := (len(dst) + 3) / 4
	start := 6
	for i := 0; i < 4; i++ {
		end := len(in)
		if i < 3 {
			end = start + (int(in[2*i]) | int(in[2*i+1])<<8)
			if end >= len(in) {
				return malformed("zstd: literals jump table out of range")
			}
		}
		var br bitReader
		if err := br.init(in[start:end]); err != nil {
			return err
		}
		from, to := every*i, min(every*(i+1), len(dst))
		n, err := t.stream(dst, from, to, &br, true)
		if err != nil {
			return err
		}
		if n != to {
			return malformed("zstd: literals stream shorter than its share")
		}
		start = end
	}
	return nil
}

// stream decodes symbols into dst[from:] until br's bits are consumed and
// returns where it stopped; a symbol at or past to is an error, as is
// reading past the start of the stream.
func (t *huffTable) stream(dst []byte, from, to int, br *bitReader, four bool) (int, error) {
	i := from
	for br.pos > 0 {
		if i >= to || i >= len(dst) {
			if four {
				return i, malformed("zstd: literals stream overruns its share")
			}
			return i, malformed("zstd: literals stream longer than declared")
		}
		e := t.entries[br.peek(t.log)]
		br.skip(uint(e & 0xff))
		dst[i] = byte(e >> 8)
		i++
	}
	if br.pos < 0 {
		return i, malformed("zstd: literals stream read past its start")
	}
	return i, nil
}
