package eval

// keyIndex maps flag keys to flag indices: an open-addressing table with
// linear probing and FNV-1a, built once at load with a load factor of at
// most 1/2. Probe lengths depend only on the bundle's keys (publisher
// input), not on the looked-up key, so hostile lookups cannot degrade it.
// It avoids a Go map's per-lookup overhead on the hot path.
type keyIndex struct {
	slots []int32 // flag index + 1; 0 = empty
	mask  uint32
}

func fnv1a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func newKeyIndex(keys []string) keyIndex {
	size := 4
	for size < 2*len(keys) {
		size <<= 1
	}
	ix := keyIndex{slots: make([]int32, size), mask: uint32(size - 1)}
	for i, k := range keys {
		h := fnv1a(k) & ix.mask
		for ix.slots[h] != 0 {
			h = (h + 1) & ix.mask
		}
		ix.slots[h] = int32(i) + 1
	}
	return ix
}

// find returns the index of key in keys (the slice the index was built
// from), or -1.
func (ix *keyIndex) find(key string, keys []string) int32 {
	h := fnv1a(key) & ix.mask
	for {
		s := ix.slots[h]
		if s == 0 {
			return -1
		}
		if keys[s-1] == key {
			return s - 1
		}
		h = (h + 1) & ix.mask
	}
}
