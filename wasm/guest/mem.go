package main

import (
	"sort"
	"unsafe"
)

// maxAlloc is the largest block ef_alloc hands out (128 MiB): more than the
// largest envelope the default limits accept (about 11.2 MB) with room for
// raised limits, and far below the 4 GiB of a 32-bit linear memory.
const maxAlloc = 128 << 20

// arena is the set of blocks the host allocated with ef_alloc and has not
// freed. Every pointer/length pair the host passes in must lie inside one
// of them: that is how the module refuses a garbage pointer with an error
// result instead of reading outside its memory (a trap) or into memory the
// Go runtime owns. Blocks are kept sorted by address; holding them here
// also keeps the garbage collector from reclaiming them.
type arena struct {
	blocks []block
}

type block struct {
	base uintptr
	buf  []byte
}

// alloc returns a new zeroed block of n bytes (1 ≤ n ≤ maxAlloc) and its
// address, or (nil, 0) for any other n.
func (a *arena) alloc(n int32) ([]byte, uintptr) {
	if n <= 0 || n > maxAlloc {
		return nil, 0
	}
	buf := make([]byte, n)
	base := uintptr(unsafe.Pointer(&buf[0]))
	i := sort.Search(len(a.blocks), func(i int) bool { return a.blocks[i].base >= base })
	a.blocks = append(a.blocks, block{})
	copy(a.blocks[i+1:], a.blocks[i:])
	a.blocks[i] = block{base: base, buf: buf}
	return buf, base
}

// free releases the block starting at p and reports whether there was one.
func (a *arena) free(p uintptr) bool {
	i := sort.Search(len(a.blocks), func(i int) bool { return a.blocks[i].base >= p })
	if i == len(a.blocks) || a.blocks[i].base != p {
		return false
	}
	copy(a.blocks[i:], a.blocks[i+1:])
	a.blocks[len(a.blocks)-1] = block{}
	a.blocks = a.blocks[:len(a.blocks)-1]
	return true
}

// bytes returns the n bytes at p when they lie inside one live block. A
// zero length is the empty input whatever p is; a negative length or a
// range outside every block is refused.
func (a *arena) bytes(p uintptr, n int32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if n < 0 {
		return nil, false
	}
	// The last block starting at or before p.
	i := sort.Search(len(a.blocks), func(i int) bool { return a.blocks[i].base > p }) - 1
	if i < 0 {
		return nil, false
	}
	b := &a.blocks[i]
	off := uint64(p - b.base)
	if off+uint64(n) > uint64(len(b.buf)) {
		return nil, false
	}
	return b.buf[off : off+uint64(n) : off+uint64(n)], true
}

// live is the number of blocks not yet freed.
func (a *arena) live() int { return len(a.blocks) }
