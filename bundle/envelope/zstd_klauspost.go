//go:build !tinygo && !edgeflag_small

package envelope

import "github.com/klauspost/compress/zstd"

var _ = [1]int{}[zstd.MinWindowSize-minWindow] // the two agree on the smallest window

func readHeader(frame []byte) (frameHeader, error) {
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return frameHeader{}, err
	}
	return frameHeader{skippable: h.Skippable, hasFCS: h.HasFCS, fcs: h.FrameContentSize}, nil
}

// inflate decodes frame into dst with klauspost's decoder, its memory and
// window capped at window bytes.
func inflate(frame, dst []byte, window uint64) (out []byte, tooLarge bool, err error) {
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(window),
		zstd.WithDecoderMaxWindow(window),
	)
	if err != nil {
		return nil, false, err
	}
	defer dec.Close()
	out, err = dec.DecodeAll(frame, dst)
	if err != nil {
		return nil, err == zstd.ErrDecoderSizeExceeded || err == zstd.ErrWindowSizeExceeded, err
	}
	return out, false, nil
}
