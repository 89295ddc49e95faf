package envelope

import (
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// decompress decodes one zstd frame whose header declares its content size
// and refuses, before allocating anything, a frame declaring more than max
// bytes. The decoder is also capped at max bytes of output in case the
// declared size lies, and the output must be exactly the declared size.
func decompress(frame []byte, max int) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return nil, reject(ErrMalformed, "payload is not a zstd frame: "+err.Error())
	}
	if h.Skippable {
		return nil, reject(ErrMalformed, "payload starts with a skippable zstd frame")
	}
	if !h.HasFCS {
		return nil, reject(ErrMalformed, "zstd frame does not declare its content size")
	}
	if h.FrameContentSize > uint64(max) {
		return nil, reject(ErrTooLarge, "payload declares "+strconv.FormatUint(h.FrameContentSize, 10)+
			" bytes decompressed, limit is "+strconv.Itoa(max))
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
		return nil, reject(ErrMalformed, "create zstd decoder: "+err.Error())
	}
	defer dec.Close()
	out, err := dec.DecodeAll(frame, make([]byte, 0, h.FrameContentSize))
	if err != nil {
		if err == zstd.ErrDecoderSizeExceeded || err == zstd.ErrWindowSizeExceeded {
			return nil, reject(ErrTooLarge, "decompress payload: "+err.Error())
		}
		return nil, reject(ErrMalformed, "decompress payload: "+err.Error())
	}
	if uint64(len(out)) != h.FrameContentSize {
		return nil, reject(ErrMalformed, "payload decompressed to "+strconv.Itoa(len(out))+
			" bytes, frame declares "+strconv.FormatUint(h.FrameContentSize, 10))
	}
	return out, nil
}
