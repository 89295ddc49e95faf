package envelope

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// The encoder settings are fixed so that the same payload always compresses
// to the same bytes (with a given klauspost/compress version): one
// goroutine, one frame with its content size, a checksum.
var encoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		zstd.WithSingleSegment(true),
	)
})

// compress returns payload as one zstd frame.
func compress(payload []byte) ([]byte, error) {
	enc, err := encoder()
	if err != nil {
		return nil, fmt.Errorf("create zstd encoder: %w", err)
	}
	return enc.EncodeAll(payload, nil), nil
}

// decompress decodes one zstd frame whose header declares its content size
// and refuses, before allocating anything, a frame declaring more than max
// bytes. The decoder is also capped at max bytes of output in case the
// declared size lies.
func decompress(frame []byte, max int) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return nil, reject(ErrMalformed, "payload is not a zstd frame: %v", err)
	}
	if h.Skippable {
		return nil, reject(ErrMalformed, "payload starts with a skippable zstd frame")
	}
	if !h.HasFCS {
		return nil, reject(ErrMalformed, "zstd frame does not declare its content size")
	}
	if h.FrameContentSize > uint64(max) {
		return nil, reject(ErrTooLarge, "payload declares %d bytes decompressed, limit is %d", h.FrameContentSize, max)
	}
	// The decoder sizes its window at least MinWindowSize even for tiny
	// frames, so its caps cannot go below that; the exact limit is
	// enforced above (declared size) and below (actual size).
	window := uint64(max) + 1
	if window < zstd.MinWindowSize {
		window = zstd.MinWindowSize
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(window),
		zstd.WithDecoderMaxWindow(window),
	)
	if err != nil {
		return nil, fmt.Errorf("create zstd decoder: %w", err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(frame, make([]byte, 0, h.FrameContentSize))
	if err != nil {
		if err == zstd.ErrDecoderSizeExceeded || err == zstd.ErrWindowSizeExceeded {
			return nil, reject(ErrTooLarge, "decompress payload: %v", err)
		}
		return nil, reject(ErrMalformed, "decompress payload: %v", err)
	}
	if uint64(len(out)) != h.FrameContentSize {
		return nil, reject(ErrMalformed, "payload decompressed to %d bytes, frame declares %d", len(out), h.FrameContentSize)
	}
	if len(out) > max {
		return nil, reject(ErrTooLarge, "payload decompresses to %d bytes, limit is %d", len(out), max)
	}
	return out, nil
}
