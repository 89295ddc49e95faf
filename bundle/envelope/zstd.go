package envelope

import "strconv"

// decompress decodes one zstd frame whose header declares its content size
// and refuses, before allocating anything, a frame declaring more than max
// bytes. The decoder is also capped at max bytes of output in case the
// declared size lies, and the output must be exactly the declared size.
//
// Two decoders sit behind it, one per build: klauspost/compress's
// (zstd_klauspost.go) and edgeflag's own small one (zstd_small.go, tags
// tinygo or edgeflag_small), which refuses exactly what the first does.
func decompress(frame []byte, max int) ([]byte, error) {
	h, err := readHeader(frame)
	if err != nil {
		return nil, reject(ErrMalformed, "payload is not a zstd frame: "+err.Error())
	}
	if h.skippable {
		return nil, reject(ErrMalformed, "payload starts with a skippable zstd frame")
	}
	if !h.hasFCS {
		return nil, reject(ErrMalformed, "zstd frame does not declare its content size")
	}
	if h.fcs > uint64(max) {
		return nil, reject(ErrTooLarge, "payload declares "+strconv.FormatUint(h.fcs, 10)+
			" bytes decompressed, limit is "+strconv.Itoa(max))
	}
	// A decoder sizes its window at least minWindow even for tiny frames,
	// so its caps cannot go below that; the exact limit is enforced above
	// (declared size) and below (actual size).
	window := uint64(max) + 1
	if window < minWindow {
		window = minWindow
	}
	out, tooLarge, err := inflate(frame, make([]byte, 0, h.fcs), window)
	if err != nil {
		if tooLarge {
			return nil, reject(ErrTooLarge, "decompress payload: "+err.Error())
		}
		return nil, reject(ErrMalformed, "decompress payload: "+err.Error())
	}
	if uint64(len(out)) != h.fcs {
		return nil, reject(ErrMalformed, "payload decompressed to "+strconv.Itoa(len(out))+
			" bytes, frame declares "+strconv.FormatUint(h.fcs, 10))
	}
	return out, nil
}

// frameHeader is what decompress needs of a frame's header.
type frameHeader struct {
	skippable, hasFCS bool
	fcs               uint64
}

// minWindow is the smallest window a zstd frame has (1 KiB).
const minWindow = 1 << 10
