package main

import "testing"

func TestArena(t *testing.T) {
	var a arena
	for _, n := range []int32{0, -1, maxAlloc + 1} {
		if buf, p := a.alloc(n); buf != nil || p != 0 {
			t.Errorf("alloc(%d) = %d bytes at %#x, want refused", n, len(buf), p)
		}
	}
	b1, p1 := a.alloc(16)
	b2, p2 := a.alloc(100)
	if len(b1) != 16 || len(b2) != 100 || p1 == 0 || p2 == 0 || a.live() != 2 {
		t.Fatalf("alloc: %d at %#x, %d at %#x, %d live", len(b1), p1, len(b2), p2, a.live())
	}
	copy(b1, "0123456789abcdef")
	if got, ok := a.bytes(p1+2, 3); !ok || string(got) != "234" {
		t.Errorf("bytes(p1+2, 3) = %q, %v", got, ok)
	}
	if got, ok := a.bytes(p1, 16); !ok || len(got) != 16 || cap(got) != 16 {
		t.Errorf("bytes(p1, 16) = %d bytes cap %d, %v", len(got), cap(got), ok)
	}
	for _, c := range []struct {
		p uintptr
		n int32
	}{{p1, 17}, {p1 + 16, 1}, {p1 - 1, 1}, {p1 + 1, 16}, {p2 + 99, 2}, {p1, -1}, {0, 1}, {1 << 40, 1}, {^uintptr(0), 1}} {
		if _, ok := a.bytes(c.p, c.n); ok {
			t.Errorf("bytes(%#x, %d) accepted, outside every block", c.p, c.n)
		}
	}
	if got, ok := a.bytes(0, 0); !ok || len(got) != 0 {
		t.Errorf("bytes(0, 0) = %q, %v, want the empty input", got, ok)
	}
	if a.free(p1 + 1) {
		t.Error("free of an interior pointer succeeded")
	}
	if !a.free(p1) || a.free(p1) {
		t.Error("free(p1) twice: want true then false")
	}
	if _, ok := a.bytes(p1, 1); ok {
		t.Error("bytes of a freed block accepted")
	}
	if got, ok := a.bytes(p2, 100); !ok || len(got) != 100 || a.live() != 1 {
		t.Errorf("the other block: %d bytes, %v, %d live", len(got), ok, a.live())
	}
}
