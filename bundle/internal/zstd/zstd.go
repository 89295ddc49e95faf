// Package zstd is a Zstandard decoder (RFC 8878), decompression only and
// small: the verifier's decoder in the TinyGo module, where
// github.com/klauspost/compress/zstd (with the fmt, log and math/big it
// brings) is most of the module. It decodes what docs/bundle-format.md
// allows — frames without a dictionary: raw, RLE and compressed blocks,
// Huffman-coded literals, FSE-coded sequences, repeat offsets, the content
// checksum — and refuses, with the same outcome, exactly what the
// klauspost decoder refuses when the envelope calls it (FuzzDifferential):
// the same bytes or an error, and an error of the same kind, too large
// (Error.TooLarge) or malformed. That includes its reading of the frames
// that may follow the first (skippable frames are skipped, further frames
// decoded and appended) and where it stops for size.
package zstd

import (
	"encoding/binary"
	"strconv"
)

// Error is a frame the decoder refuses. TooLarge marks the refusals the
// klauspost decoder reports as exceeding its window or output limit.
type Error struct {
	Msg      string
	TooLarge bool
}

func (e *Error) Error() string { return e.Msg }

func malformed(msg string) error { return &Error{Msg: msg} }
func tooLarge(msg string) error  { return &Error{Msg: msg, TooLarge: true} }

const (
	minWindow    = 1 << 10   // the smallest window a frame can declare
	maxBlock     = 128 << 10 // the largest block, compressed or not
	maxMatchLen  = 131074    // the largest match length the format can code
	fcsUnknown   = ^uint64(0)
	frameMagic   = 0xFD2FB528
	skipMagicLo  = 0x184D2A50 // skippable frames: 0x184D2A50..0x184D2A5F
	skipMagicMsk = 0xFFFFFFF0
)

// Decode decodes the frames of src as the klauspost decoder's DecodeAll
// does (skippable frames are skipped, no input is no output), appending
// their content to dst. limit bounds the window a frame
// may declare and the output of all frames together: more is a TooLarge
// error, as is a raw or RLE block or a literals section larger than its
// frame's window.
func Decode(dst, src []byte, limit uint64) ([]byte, error) {
	start := len(dst)
	for {
		// Skippable frames, then the end of the input or a frame.
		for {
			if len(src) == 0 {
				return dst, nil
			}
			if len(src) < 4 {
				return dst, malformed("zstd: truncated frame magic")
			}
			if binary.LittleEndian.Uint32(src)&skipMagicMsk != skipMagicLo {
				break
			}
			if len(src) < 8 {
				return dst, malformed("zstd: truncated skippable frame")
			}
			n := uint64(binary.LittleEndian.Uint32(src[4:]))
			if n > uint64(len(src)-8) {
				return dst, malformed("zstd: truncated skippable frame")
			}
			src = src[8+n:]
		}
		var err error
		dst, src, err = decodeFrame(dst, src, start, limit)
		if err != nil {
			return dst, err
		}
		if uint64(len(dst)-start) > limit {
			return dst, tooLarge("zstd: output over the limit")
		}
		if len(src) == 0 {
			return dst, nil
		}
	}
}

// Header is what the start of a frame declares.
type Header struct {
	Skippable        bool   // a skippable frame
	HasFCS           bool   // the frame declares its content size
	FrameContentSize uint64 // the declared size
}

// ReadHeader reads the header of the frame src starts with, refusing what
// the klauspost decoder's Header.Decode refuses (a truncated header, a
// wrong magic number, the reserved bit set).
func ReadHeader(src []byte) (Header, error) {
	var h Header
	if len(src) < 4 {
		return h, malformed("zstd: truncated frame header")
	}
	m := binary.LittleEndian.Uint32(src)
	if m != frameMagic {
		if m&skipMagicMsk != skipMagicLo {
			return h, malformed("zstd: not a zstd frame")
		}
		if len(src) < 8 {
			return h, malformed("zstd: truncated frame header")
		}
		h.Skippable = true
		return h, nil
	}
	if len(src) < 5 {
		return h, malformed("zstd: truncated frame header")
	}
	fhd := src[4]
	if fhd&(1<<3) != 0 {
		return h, malformed("zstd: reserved bit set in the frame header")
	}
	n := 5
	single := fhd&(1<<5) != 0
	if !single {
		n++
	}
	n += [4]int{0, 1, 2, 4}[fhd&3]
	fcsSize := 0
	switch fhd >> 6 {
	case 0:
		if single {
			fcsSize = 1
		}
	default:
		fcsSize = 1 << (fhd >> 6)
	}
	if len(src) < n+fcsSize {
		return h, malformed("zstd: truncated frame header")
	}
	if fcsSize > 0 {
		h.HasFCS = true
		for i := fcsSize - 1; i >= 0; i-- {
			h.FrameContentSize = h.FrameContentSize<<8 | uint64(src[n+i])
		}
		if fcsSize == 2 {
			h.FrameContentSize += 256
		}
	}
	return h, nil
}

// frame is the state of one frame being decoded.
type frame struct {
	window  uint64
	fcs     uint64
	start   int // where the frame's output starts in the output
	huff    *huffTable
	tables  [3]*fseTable // literal lengths, offsets, match lengths
	rep     [3]int
	scratch scratch
}

// decodeFrame decodes the frame at the start of src (start is where the
// whole output began, for the limit) and returns the rest of src.
func decodeFrame(dst, src []byte, start int, limit uint64) ([]byte, []byte, error) {
	if len(src) < 4 {
		return dst, src, malformed("zstd: truncated frame magic")
	}
	if binary.LittleEndian.Uint32(src) != frameMagic {
		return dst, src, malformed("zstd: not a zstd frame")
	}
	src = src[4:]
	if len(src) < 1 {
		return dst, src, malformed("zstd: truncated frame header")
	}
	fhd := src[0]
	src = src[1:]
	single := fhd&(1<<5) != 0
	if fhd&(1<<3) != 0 {
		return dst, src, malformed("zstd: reserved bit set in the frame header")
	}
	var window uint64
	if !single {
		if len(src) < 1 {
			return dst, src, malformed("zstd: truncated frame header")
		}
		wd := src[0]
		src = src[1:]
		base := uint64(1) << (10 + wd>>3)
		window = base + base/8*uint64(wd&7)
	}
	dictSize := int(fhd & 3)
	if dictSize == 3 {
		dictSize = 4
	}
	if len(src) < dictSize {
		return dst, src, malformed("zstd: truncated frame header")
	}
	var dict uint32
	for i := dictSize - 1; i >= 0; i-- {
		dict = dict<<8 | uint32(src[i])
	}
	src = src[dictSize:]
	fcsSize := 0
	switch fhd >> 6 {
	case 0:
		if single {
			fcsSize = 1
		}
	default:
		fcsSize = 1 << (fhd >> 6)
	}
	fcs := fcsUnknown
	if fcsSize > 0 {
		if len(src) < fcsSize {
			return dst, src, malformed("zstd: truncated frame header")
		}
		fcs = 0
		for i := fcsSize - 1; i >= 0; i-- {
			fcs = fcs<<8 | uint64(src[i])
		}
		if fcsSize == 2 {
			fcs += 256
		}
		src = src[fcsSize:]
	}
	checksum := fhd&(1<<2) != 0
	if window > limit {
		return dst, src, tooLarge("zstd: window of " + strconv.FormatUint(window, 10) + " bytes over the limit")
	}
	if window == 0 && single {
		window = max(fcs, minWindow)
		if window > limit {
			return dst, src, tooLarge("zstd: window over the limit")
		}
	}
	if dict != 0 {
		return dst, src, malformed("zstd: frame needs dictionary " + strconv.FormatUint(uint64(dict), 10))
	}
	produced := uint64(len(dst) - start)
	if fcs != fcsUnknown {
		if fcs > limit-produced {
			return dst, src, tooLarge("zstd: frame content size over the limit")
		}
		if uint64(cap(dst)-len(dst)) < fcs {
			grown := make([]byte, len(dst), len(dst)+int(fcs))
			copy(grown, dst)
			dst = grown
		}
	}
	f := &frame{window: window, fcs: fcs, start: len(dst), rep: [3]int{1, 4, 8}}
	for {
		if len(src) < 3 {
			return dst, src, malformed("zstd: truncated block header")
		}
		bh := uint32(src[0]) | uint32(src[1])<<8 | uint32(src[2])<<16
		src = src[3:]
		last := bh&1 != 0
		size := int(bh >> 3)
		switch (bh >> 1) & 3 {
		case 0: // raw
			if size > maxBlock || uint64(size) > window {
				return dst, src, tooLarge("zstd: raw block larger than the window")
			}
			if len(src) < size {
				return dst, src, malformed("zstd: truncated raw block")
			}
			dst = append(dst, src[:size]...)
			src = src[size:]
		case 1: // RLE
			if size > maxBlock || uint64(size) > window {
				return dst, src, tooLarge("zstd: RLE block larger than the window")
			}
			if len(src) < 1 {
				return dst, src, malformed("zstd: truncated RLE block")
			}
			b := src[0]
			src = src[1:]
			for i := 0; i < size; i++ {
				dst = append(dst, b)
			}
		case 2: // compressed
			if size > maxBlock || uint64(size) > window {
				return dst, src, malformed("zstd: compressed block too large")
			}
			if size < 2 {
				return dst, src, malformed("zstd: compressed block too small")
			}
			if len(src) < size {
				return dst, src, malformed("zstd: truncated compressed block")
			}
			var err error
			if dst, err = f.block(dst, src[:size]); err != nil {
				return dst, src, err
			}
			src = src[size:]
		default:
			return dst, src, malformed("zstd: reserved block type")
		}
		out := uint64(len(dst) - f.start)
		if out > limit {
			return dst, src, tooLarge("zstd: output over the limit")
		}
		if out > fcs {
			return dst, src, malformed("zstd: frame larger than its declared content size")
		}
		if last {
			break
		}
	}
	if fcs != fcsUnknown && uint64(len(dst)-f.start) != fcs {
		return dst, src, malformed("zstd: frame smaller than its declared content size")
	}
	if checksum {
		if len(src) < 4 {
			return dst, src, malformed("zstd: truncated checksum")
		}
		if uint32(xxhash64(dst[f.start:])) != binary.LittleEndian.Uint32(src) {
			return dst, src, malformed("zstd: checksum mismatch")
		}
		src = src[4:]
	}
	return dst, src, nil
}

// block decodes one compressed block (its bytes in b), appending to dst.
func (f *frame) block(dst, b []byte) ([]byte, error) {
	lits, rest, err := f.literals(b)
	if err != nil {
		return dst, err
	}
	return f.sequences(dst, lits, rest)
}
