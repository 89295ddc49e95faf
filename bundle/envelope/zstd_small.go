//go:build tinygo || edgeflag_small

package envelope

import "github.com/edgeflag/edgeflag/bundle/internal/zstd"

func readHeader(frame []byte) (frameHeader, error) {
	h, err := zstd.ReadHeader(frame)
	if err != nil {
		return frameHeader{}, err
	}
	return frameHeader{skippable: h.Skippable, hasFCS: h.HasFCS, fcs: h.FrameContentSize}, nil
}

// inflate decodes frame into dst with edgeflag's own decoder, capped at
// window bytes as klauspost's is.
func inflate(frame, dst []byte, window uint64) (out []byte, tooLarge bool, err error) {
	out, err = zstd.Decode(dst, frame, window)
	if err != nil {
		e, _ := err.(*zstd.Error)
		return nil, e != nil && e.TooLarge, err
	}
	return out, false, nil
}
