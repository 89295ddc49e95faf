package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

// resign replaces the payload of a bundle sealed by seal with frame (any
// bytes) and signs it again with testKey, so that the verifier gets past
// the signature to the decompression.
func resign(t testing.TB, sealed, frame []byte) []byte {
	t.Helper()
	parts := bytes.Split(sealed, []byte("."))
	if len(parts) != 3 {
		t.Fatalf("sealed bundle has %d parts", len(parts))
	}
	input := append(append(append([]byte{}, parts[0]...), '.'), base64.RawURLEncoding.EncodeToString(frame)...)
	sig := ed25519.Sign(testKey(), input)
	return append(append(input, '.'), base64.RawURLEncoding.EncodeToString(sig)...)
}

// blocks returns the blocks of a single zstd frame made by klauspost's
// encoder without a checksum (its header and the end stripped).
func blocks(t testing.TB, frame []byte) []byte {
	t.Helper()
	fhd := frame[4]
	n := 5
	if fhd&(1<<5) == 0 {
		n++
	}
	n += [4]int{0, 1, 2, 4}[fhd&3]
	switch fhd >> 6 {
	case 0:
		if fhd&(1<<5) != 0 {
			n++
		}
	default:
		n += 1 << (fhd >> 6)
	}
	if fhd&(1<<2) != 0 {
		t.Fatal("frame has a checksum")
	}
	return frame[n:]
}

// splicedFrame makes one frame of content with every kind of block: a raw
// block of its first part, an RLE block of the run of one byte that
// follows, and compressed blocks (Huffman literals, FSE sequences, repeat
// offsets) of the rest, with the content size declared.
// It also returns where the compressed blocks start.
func splicedFrame(t testing.TB, content []byte, runStart, runLen int) ([]byte, int) {
	t.Helper()
	frame := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	frame = append(frame, 0xE0) // 8-byte content size, single segment, no checksum
	frame = binary.LittleEndian.AppendUint64(frame, uint64(len(content)))
	block := func(typ, size int, last bool) {
		h := uint32(typ<<1 | size<<3)
		if last {
			h |= 1
		}
		frame = append(frame, byte(h), byte(h>>8), byte(h>>16))
	}
	for rest := content[:runStart]; len(rest) > 0; {
		n := min(len(rest), 100_000)
		block(0, n, false)
		frame = append(frame, rest[:n]...)
		rest = rest[n:]
	}
	block(1, runLen, false)
	frame = append(frame, content[runStart])
	enc, err := kzstd.NewWriter(nil, kzstd.WithEncoderConcurrency(1), kzstd.WithEncoderCRC(false),
		kzstd.WithEncoderLevel(kzstd.SpeedBetterCompression))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	rest := blocks(t, enc.EncodeAll(content[runStart+runLen:], nil))
	return append(frame, rest...), len(frame)
}

// bigBundle is a bundle of 200 flags whose payload holds a 100 000-byte
// run of one byte and text that compresses well.
func bigBundle(t testing.TB) (enc []byte, runStart, runLen int) {
	t.Helper()
	b := ir.NewBuilder("zstd", "prod", ir.AudienceServer)
	rng := rand.New(rand.NewPCG(21, 22))
	const runLength = 100_000
	for i := 0; i < 200; i++ {
		var sb strings.Builder
		for j := 0; j < 200; j++ {
			sb.WriteString([]string{"alpha", "beta", "gamma", "delta", "rollout", "segment"}[rng.IntN(6)])
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
		v := sb.String()
		if i == 100 {
			v = strings.Repeat("x", runLength)
		}
		val := ir.AppendJSONString(nil, v)
		b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{Key: "f" + itoa(1000+i), Type: ir.TypeString,
			Variants: []ir.Variant{{Name: "v", Value: val}}, Enabled: true, Salt: "s",
			Default: ir.Serve{Variant: 0, BucketBy: ir.NoNode}})
	}
	enc, err := ir.Encode(b.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(enc, bytes.Repeat([]byte("x"), runLength))
	if i < 0 {
		t.Fatal("no run in the encoding")
	}
	return enc, i, runLength
}

// TestZstdFramesOnEveryModule: a frame with raw, RLE and compressed
// blocks opens on every module with the native results, and damaged
// versions of it (truncated, bytes changed, trailing data, a wrong content
// size, a limit one byte short) are refused by every module exactly as
// natively (the TinyGo module decodes with edgeflag's own decoder, the
// others with klauspost's).
func TestZstdFramesOnEveryModule(t *testing.T) {
	enc, runStart, runLen := bigBundle(t)
	b := mustDecode(t, enc)
	sealed := seal(t, enc, 1)
	frame, comp := splicedFrame(t, enc, runStart, runLen)
	good := resign(t, sealed, frame)
	type input struct {
		name   string
		bundle []byte
		trust  Trust
	}
	inputs := []input{{"spliced", good, trustFor(b)}}
	small := trustFor(b)
	small.MaxDecompressed = len(enc) - 1
	inputs = append(inputs, input{"limit one byte short", good, small})
	mutate := func(name string, f func([]byte) []byte) {
		inputs = append(inputs, input{name, resign(t, sealed, f(bytes.Clone(frame))), trustFor(b)})
	}
	for _, n := range []int{len(frame) - 1, (comp + len(frame)) / 2, comp + 2, comp - 1, 30} {
		mutate("truncated to "+itoa(n), func(f []byte) []byte { return f[:n] })
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for i := 0; i < 24; i++ {
		// The header, the RLE block's header and byte, the compressed blocks.
		at := []int{4 + rng.IntN(9), comp - 4 + rng.IntN(4), comp + rng.IntN(len(frame)-comp)}[i%3]
		bit := byte(1 << rng.IntN(8))
		mutate("bit flipped at "+itoa(at), func(f []byte) []byte { f[at] ^= bit; return f })
	}
	mutate("trailing junk", func(f []byte) []byte { return append(f, "junk"...) })
	mutate("trailing empty frame", func(f []byte) []byte { return append(f, 0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00) })
	mutate("content size one more", func(f []byte) []byte { binary.LittleEndian.PutUint64(f[5:], uint64(len(enc)+1)); return f })
	ctx := context.Background()
	opened := 0
	for _, in := range inputs {
		native, nerr := envelope.Open(in.bundle, nativeTrustOf(t, in.trust, openAt))
		want := envelope.ErrorName(nerr)
		var wantAll []byte
		if nerr == nil {
			opened++
			wantAll = cliJSON(t, native.Engine.EvaluateAll(nil, openAt, nil), true)
		}
		forEachModule(t, func(t *testing.T, m wasmbuild.Spec) {
			h := newHost(t, m, Options{Instances: 1})
			if err := h.SetTrust(ctx, in.trust); err != nil {
				t.Fatal(err)
			}
			_, err := h.Open(ctx, in.bundle, openAt)
			if got := errName(err); got != want {
				t.Fatalf("%s: module %q (%v), native %q (%v)", in.name, got, err, want, nerr)
			}
			if err != nil {
				return
			}
			all, err := h.AppendEvaluateAll(ctx, nil, nil, openAt)
			if err != nil || !bytes.Equal(all, wantAll) {
				t.Fatalf("%s: evaluate all differs from native (%v)", in.name, err)
			}
		})
	}
	if opened < 2 {
		t.Fatalf("%d inputs opened natively, want the spliced frame and the trailing empty frame", opened)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
