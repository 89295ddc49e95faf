package zstd_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/internal/zstd"
)

// reference decodes src with the klauspost decoder exactly as the
// envelope calls it (limit as both its memory and window caps) and
// classifies its error as this package does.
func reference(t testing.TB, src []byte, limit uint64) ([]byte, error) {
	t.Helper()
	dec, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1), kzstd.WithDecoderMaxMemory(limit), kzstd.WithDecoderMaxWindow(limit))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(src, nil)
	if err != nil {
		return nil, &zstd.Error{Msg: err.Error(), TooLarge: err == kzstd.ErrDecoderSizeExceeded || err == kzstd.ErrWindowSizeExceeded}
	}
	return out, nil
}

// same requires Decode and the klauspost decoder to agree on src: the
// same bytes, or an error of the same kind.
func same(t testing.TB, src []byte, limit uint64) (ok bool) {
	t.Helper()
	want, werr := reference(t, src, limit)
	got, gerr := zstd.Decode(nil, src, limit)
	switch {
	case werr != nil && gerr != nil:
		we, ge := werr.(*zstd.Error), gerr.(*zstd.Error)
		if we.TooLarge != ge.TooLarge {
			t.Fatalf("limit %d, frame %x:\nklauspost: %v (too large %v)\nours: %v (too large %v)", limit, head(src), werr, we.TooLarge, gerr, ge.TooLarge)
		}
		return false
	case werr != nil || gerr != nil:
		t.Fatalf("limit %d, frame %x:\nklauspost: %v\nours: %v", limit, head(src), werr, gerr)
	case !bytes.Equal(got, want):
		t.Fatalf("limit %d, frame %x: %d bytes decoded, klauspost %d, differing", limit, head(src), len(got), len(want))
	}
	return true
}

func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// encode compresses data with the given encoder options.
func encode(t testing.TB, data []byte, opts ...kzstd.EOption) []byte {
	t.Helper()
	enc, err := kzstd.NewWriter(nil, append([]kzstd.EOption{kzstd.WithEncoderConcurrency(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// mixedPayload is n deterministic bytes that make every kind of block:
// repetitive text (compressed blocks, matches, repeat offsets), random
// bytes (raw blocks) and runs of one byte (RLE blocks).
func mixedPayload(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 34))
	words := []string{"flag", "variant", "rule", "segment", "targetingKey", "rollout", "\"on\"", "{}", "0.25"}
	b := make([]byte, 0, n)
	for len(b) < n {
		switch rng.IntN(3) {
		case 0:
			for range 2000 {
				b = append(b, words[rng.IntN(len(words))]...)
				b = append(b, ' ')
			}
		case 1:
			for range 40_000 {
				b = append(b, byte(rng.Uint32()))
			}
		default:
			b = append(b, bytes.Repeat([]byte{byte(rng.Uint32())}, 150_000)...)
		}
	}
	return b[:n]
}

// seeds are frames of real content made every way an encoder may make
// them, the publisher's way first.
func seeds(t testing.TB) [][]byte {
	t.Helper()
	suites, err := conformance.LoadDir(filepath.Join("..", "..", "conformance", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	var contents [][]byte
	for _, s := range suites {
		contents = append(contents, s.Bundle)
	}
	// Random letters of a small alphabet: few matches, Huffman-coded
	// literal sections of every header size up to a whole block.
	letters := make([]byte, 300_000)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range letters {
		letters[i] = "abcdefghijklmnop"[rng.IntN(16)]
	}
	contents = append(contents, nil, []byte("a"), bytes.Repeat([]byte("ab"), 3000), mixedPayload(1<<20, 1), letters)
	var frames [][]byte
	for _, c := range contents {
		frames = append(frames,
			encode(t, c, kzstd.WithEncoderLevel(kzstd.SpeedBetterCompression), kzstd.WithEncoderCRC(true), kzstd.WithSingleSegment(true)),
			encode(t, c, kzstd.WithEncoderLevel(kzstd.SpeedFastest), kzstd.WithEncoderCRC(false)),
			encode(t, c, kzstd.WithEncoderLevel(kzstd.SpeedBestCompression), kzstd.WithWindowSize(1<<15)),
			encode(t, c, kzstd.WithEncoderLevel(kzstd.SpeedDefault), kzstd.WithNoEntropyCompression(true)))
	}
	return frames
}

// TestDecodesRealFrames: every seed decodes to its content, as klauspost
// decodes it, with the limit the envelope uses and with one byte less than
// the content (too large).
func TestDecodesRealFrames(t *testing.T) {
	for _, f := range seeds(t) {
		want, err := reference(t, f, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !same(t, f, 64<<20) {
			t.Fatalf("frame %x refused", head(f))
		}
		if len(want) > 2000 {
			same(t, f, uint64(len(want)-1))
		}
	}
}

// TestTrailingFrames: what may follow the first frame, as klauspost reads it.
func TestTrailingFrames(t *testing.T) {
	base := encode(t, []byte("hello, hello, hello"), kzstd.WithEncoderCRC(true))
	empty := encode(t, nil)
	skip := func(n int) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0x184D2A53)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		return append(b, make([]byte, n)...)
	}
	for _, tail := range [][]byte{nil, empty, skip(0), skip(5), skip(5)[:7], {0x28}, {0x28, 0xb5, 0x2f}, []byte("junk"),
		append(skip(3), empty...), append(empty, base...), base} {
		same(t, append(append([]byte{}, base...), tail...), 64<<20)
	}
}

// TestMutations: every single-byte change of small real frames, and
// truncations, get the klauspost outcome.
func TestMutations(t *testing.T) {
	var frames [][]byte
	for _, f := range seeds(t) {
		if len(f) < 4000 {
			frames = append(frames, f)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	checked := 0
	for _, f := range frames {
		for i := range f {
			m := bytes.Clone(f)
			m[i] ^= byte(1 << rng.IntN(8))
			same(t, m, 64<<20)
			m[i] = byte(rng.Uint32())
			same(t, m, 1<<(10+rng.IntN(11)))
			checked += 2
		}
		for n := 0; n < len(f); n += 1 + len(f)/50 {
			same(t, f[:n], 64<<20)
		}
	}
	if checked < 1000 {
		t.Fatalf("%d mutations checked", checked)
	}
}

func FuzzDifferential(f *testing.F) {
	for _, s := range seeds(f) {
		if len(s) < 1<<16 {
			f.Add(s, uint32(64<<20))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, limit uint32) {
		same(t, src, uint64(limit%(128<<20))+1024)
	})
}

// sameHeader requires ReadHeader and klauspost's Header.Decode to agree.
func sameHeader(t *testing.T, src []byte) {
	t.Helper()
	var kh kzstd.Header
	kerr := kh.Decode(src)
	h, err := zstd.ReadHeader(src)
	if (kerr == nil) != (err == nil) {
		t.Fatalf("header %x: klauspost %v, ours %v", head(src), kerr, err)
	}
	if err == nil && (h.Skippable != kh.Skippable || h.HasFCS != kh.HasFCS || h.FrameContentSize != kh.FrameContentSize) {
		t.Fatalf("header %x: klauspost %+v, ours %+v", head(src), kh, h)
	}
}

func TestReadHeader(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, f := range seeds(t) {
		for n := 0; n <= min(len(f), 24); n++ {
			sameHeader(t, f[:n])
			m := bytes.Clone(f[:min(len(f), 24)])
			if n < len(m) {
				m[n] = byte(rng.Uint32())
				sameHeader(t, m)
			}
		}
	}
}

func FuzzReadHeader(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s[:min(len(s), 24)])
	}
	f.Fuzz(func(t *testing.T, src []byte) { sameHeader(t, src) })
}

// TestChecksums: frames with a checksum of every small length decode (the
// checksum is XXH64's low 32 bits; xxhash_test.go checks the hash itself).
func TestChecksums(t *testing.T) {
	long := mixedPayload(1000, 3)
	for n := 0; n < len(long); n += 7 {
		if !same(t, encode(t, long[:n], kzstd.WithEncoderCRC(true)), 1<<20) {
			t.Fatalf("%d bytes with a checksum refused", n)
		}
	}
}
