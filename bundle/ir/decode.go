package ir

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Decode errors. Every error Decode returns wraps exactly one of these
// (test with errors.Is); the wrapping message says where and why.
var (
	// ErrTooLarge: the input, a count or a string exceeds a Limits value.
	ErrTooLarge = errors.New("ir: encoding exceeds a decode limit")
	// ErrTruncated: the input ends before the encoding does, or a count
	// claims more elements than the remaining bytes can hold.
	ErrTruncated = errors.New("ir: encoding is truncated")
	// ErrTrailingData: bytes follow the end of the encoded bundle.
	ErrTrailingData = errors.New("ir: trailing data after encoding")
	// ErrUnknownField: a record holds a field tag this version does not
	// define (for example one written by a newer publisher).
	ErrUnknownField = errors.New("ir: unknown field")
	// ErrUnsupportedVersion: the format version is not FormatVersion.
	ErrUnsupportedVersion = errors.New("ir: unsupported format version")
	// ErrMalformed: anything else that is not the canonical encoding of a
	// Bundle: bad magic, non-minimal varint, invalid UTF-8, fields out of
	// order or repeated, explicit zero values, unknown enum values, an
	// unsorted or unused string table entry, a NaN.
	ErrMalformed = errors.New("ir: malformed encoding")
)

// Decode parses the canonical encoding produced by Encode. It accepts
// exactly the outputs of Encode: for any data it accepts,
// Encode(Decode(data)) returns data byte for byte. It never panics; input
// longer than lim.MaxBytes is rejected before any work, and every count is
// checked against lim and against the bytes remaining before anything is
// allocated. Errors wrap one of ErrTooLarge, ErrTruncated, ErrTrailingData,
// ErrUnknownField, ErrUnsupportedVersion or ErrMalformed.
//
// Decode does not call Validate. The returned Bundle's strings share one
// backing string, Variant.Value slices share one backing array, and flags
// whose variant lists, rule lists or splits are encoded identically may
// share those slices: treat them as read-only.
func Decode(data []byte, lim Limits) (*Bundle, error) {
	lim = lim.codecWithDefaults()
	if len(data) > lim.MaxBytes {
		return nil, codecWrap("decode bundle: input of "+strconv.Itoa(len(data))+" bytes exceeds "+strconv.Itoa(lim.MaxBytes), ErrTooLarge)
	}
	d := &decDecoder{data: data, lim: lim}
	b, err := d.bundle()
	if err != nil {
		return nil, codecWrap("decode bundle", err)
	}
	return b, nil
}

type decDecoder struct {
	data []byte
	pos  int
	err  error
	lim  Limits

	big  string // the string table's bytes
	off  []int  // entry i is big[off[i]:off[i+1]]
	nstr int    // entries in the table
	used []uint64
	blob []byte // big as bytes, made on first Variant.Value

	nList, nKeys, nVariants, nRules, nWeights, nMeta int

	// Arenas: element slices are carved from shared chunks.
	aVariants decArena[Variant]
	aRules    decArena[Rule]
	aWeights  decArena[Weight]
	aMeta     decArena[Meta]
	aStrs     decArena[string]
	aConsts   decArena[Const]

	// The last decoded section of each kind, to share its slice with an
	// identical next one (see decRepeat).
	rVariants [TypeObject + 1]decRepeat[Variant] // by flag type
	rRules    decRepeat[Rule]
	rSplit    decRepeat[Weight]
}

// decRepeat remembers the encoding of the last variant list, rule list or
// split decoded (count included) and the slice decoded from it. When the
// next section of that kind has the same bytes, the decoder hands out the
// same slice instead of decoding a copy: decoding is a function of the
// bytes alone (the string table is fixed), so the result would be equal,
// and the decoded Bundle is read-only. Only the totals checked against
// Limits still grow; if that would exceed a limit, the section is decoded
// normally and fails there. Flags of one type commonly repeat their
// variants, and flags generated from one template their rules and splits;
// for 10 000 F2-like flags this cut Decode's allocation from 6.1 MB to
// 1.9 MB and its time by about half (see the commit message).
type decRepeat[T any] struct {
	raw   []byte // the section's encoding, a slice of the input
	elems []T    // never empty once raw is set
	inner int    // split arms counted inside the section (rule lists)
}

// match reports whether the input at d.pos starts with the remembered
// section.
func (r *decRepeat[T]) match(d *decDecoder) bool {
	n := len(r.raw)
	return n != 0 && n <= len(d.data)-d.pos && string(d.data[d.pos:d.pos+n]) == string(r.raw)
}

// set remembers the section decoded from input offset at to d.pos, unless
// decoding it failed.
func (r *decRepeat[T]) set(d *decDecoder, at int, elems []T, inner int) {
	if d.err == nil {
		r.raw, r.elems, r.inner = d.data[at:d.pos], elems, inner
	}
}

// fail records the first error, at the current offset, and empties the
// input so that every later read returns zero (and tag reads end records)
// without each read checking d.err.
func (d *decDecoder) fail(sentinel error, msg string) {
	if d.err == nil {
		d.err = &codecError{ctx: "offset " + strconv.Itoa(d.pos) + ": " + msg, err: sentinel}
		d.data, d.pos = d.data[:0], 0
	}
}

// uvarint is the inlined fast path of one-byte varints.
func (d *decDecoder) uvarint() uint64 {
	if d.pos < len(d.data) && d.data[d.pos] < 0x80 {
		b := d.data[d.pos]
		d.pos++
		return uint64(b)
	}
	return d.uvarintSlow()
}

func (d *decDecoder) uvarintSlow() uint64 {
	var x uint64
	var s uint
	start := d.pos
	for i := 0; ; i++ {
		if d.pos >= len(d.data) {
			d.pos = start
			d.fail(ErrTruncated, "varint")
			return 0
		}
		b := d.data[d.pos]
		d.pos++
		if i == 9 && b > 1 {
			d.pos = start
			d.fail(ErrMalformed, "varint overflows 64 bits")
			return 0
		}
		if b < 0x80 {
			if b == 0 && i > 0 {
				d.pos = start
				d.fail(ErrMalformed, "non-minimal varint")
				return 0
			}
			return x | uint64(b)<<s
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
}

// int32v reads a zigzag int32. (The one-byte varint case is written out
// here and in tag and strIndex: each is one call on the hot path instead of
// nested calls, which Go's inliner would not flatten.)
func (d *decDecoder) int32v() int32 {
	var u uint64
	if p := d.pos; p < len(d.data) && d.data[p] < 0x80 {
		u = uint64(d.data[p])
		d.pos = p + 1
	} else {
		u = d.uvarintSlow()
	}
	if u > math.MaxUint32 {
		d.fail(ErrMalformed, "integer overflows 32 bits")
		return 0
	}
	x := uint32(u)
	return int32(x>>1) ^ -int32(x&1)
}

// nz32 reads the int32 value of a present field, which must not be zero.
func (d *decDecoder) nz32() int32 {
	v := d.int32v()
	if v == 0 {
		d.fail(ErrMalformed, "explicit zero value (zero fields are omitted)")
	}
	return v
}

func (d *decDecoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.data) {
		d.fail(ErrTruncated, "byte")
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

// count reads an element count, checking it against max (less what total
// already holds) and against the remaining input at minSize bytes per
// element, before the caller allocates. nonZero forbids 0 (a present field
// whose value would be empty).
func (d *decDecoder) count(max int, total *int, minSize int, what string, nonZero bool) int {
	at := d.pos
	u := d.uvarint()
	if d.err != nil {
		return 0
	}
	if u == 0 {
		if nonZero {
			d.pos = at
			d.fail(ErrMalformed, "explicit empty "+what+" list (empty fields are omitted)")
		}
		return 0
	}
	if u > uint64(max-*total) {
		d.pos = at
		d.fail(ErrTooLarge, what+" count "+strconv.FormatUint(u, 10)+" exceeds the limit of "+strconv.Itoa(max))
		return 0
	}
	if u > uint64(len(d.data)-d.pos)/uint64(minSize) { // no overflow whatever the limits
		d.pos = at
		d.fail(ErrTruncated, what+" count "+strconv.FormatUint(u, 10)+" exceeds the remaining input")
		return 0
	}
	*total += int(u)
	return int(u)
}

// mask reads a record's field-presence mask. A bit outside all (a field
// this version does not define) is ErrUnknownField.
func (d *decDecoder) mask(all uint64) uint64 {
	var m uint64
	if p := d.pos; p < len(d.data) && d.data[p] < 0x80 {
		m = uint64(d.data[p])
		d.pos = p + 1
	} else {
		m = d.uvarintSlow()
	}
	if m&^all != 0 {
		return d.maskUnknown(m, all)
	}
	return m
}

func (d *decDecoder) maskUnknown(m, all uint64) uint64 {
	if d.err == nil {
		d.pos -= (bits.Len64(m) + 6) / 7
		d.fail(ErrUnknownField, "field "+strconv.Itoa(bits.TrailingZeros64(m&^all)+1)+" (presence mask "+strconv.FormatUint(m, 2)+"b)")
	}
	return 0
}

// strIndex reads a string table index and marks the entry used.
func (d *decDecoder) strIndex() int {
	// Indices of big tables often take two bytes: both cases are inline.
	var u uint64
	if p := d.pos; p < len(d.data) && d.data[p] < 0x80 {
		u = uint64(d.data[p])
		d.pos = p + 1
	} else if p+1 < len(d.data) && d.data[p+1]-1 < 0x7f { // 2nd byte 1..0x7f: minimal, last
		u = uint64(d.data[p]&0x7f) | uint64(d.data[p+1])<<7
		d.pos = p + 2
	} else {
		u = d.uvarintSlow()
	}
	if u < uint64(d.nstr) {
		i := int(u)
		d.used[i>>6] |= 1 << (uint(i) & 63)
		return i
	}
	return d.strIndexBad(u)
}

func (d *decDecoder) strIndexBad(u uint64) int {
	if d.err == nil {
		d.fail(ErrMalformed, "string index "+strconv.FormatUint(u, 10)+" out of range")
	}
	return -1
}

func (d *decDecoder) str() string {
	i := d.strIndex()
	if i < 0 {
		return ""
	}
	return d.big[d.off[i]:d.off[i+1]]
}

// strField reads the string of a present field, which must not be empty.
func (d *decDecoder) strField() string {
	i := d.strIndex()
	if i < 0 {
		return ""
	}
	a, b := d.off[i], d.off[i+1]
	if a == b {
		d.fail(ErrMalformed, "explicit empty string (empty fields are omitted)")
	}
	return d.big[a:b]
}

func (d *decDecoder) bytesField() []byte {
	i := d.strIndex()
	if i < 0 {
		return nil
	}
	a, b := d.off[i], d.off[i+1]
	if a == b {
		d.fail(ErrMalformed, "explicit empty value (empty fields are omitted)")
		return nil
	}
	if d.blob == nil {
		d.blob = []byte(d.big)
	}
	return d.blob[a:b:b]
}

// decArena is a chunk that element slices are carved from.
type decArena[T any] struct {
	free  []T // the unused rest of the current chunk
	chunk int // the current chunk's length
}

// decTake carves n elements from an arena. A new chunk is twice the last
// one (starting at 16 elements), at most 1024, and at most an eighth of the
// remaining input (each element takes at least one byte), but at least n.
// Growing from small chunks rather than starting at 1024 matters since
// Decode shares repeated lists (decRepeat) and may carve only a few: for
// 1 000 F2-like flags it cut the allocation by ~100 KB (see the commit).
func decTake[T any](d *decDecoder, a *decArena[T], n int) []T {
	if n > len(a.free) {
		c := min(max(2*a.chunk, 16), 1024, (len(d.data)-d.pos)/8)
		c = max(c, n)
		a.free, a.chunk = make([]T, c), c
	}
	s := a.free[:n:n]
	a.free = a.free[n:]
	return s
}

func (d *decDecoder) header() {
	n := len(codecMagic)
	if len(d.data) < n {
		if string(d.data) == codecMagic[:len(d.data)] {
			d.fail(ErrTruncated, "magic")
		} else {
			d.fail(ErrMalformed, "bad magic")
		}
		return
	}
	if string(d.data[:n]) != codecMagic {
		d.fail(ErrMalformed, "bad magic")
		return
	}
	d.pos = n
	v := d.uvarint()
	if d.err == nil && v != FormatVersion {
		d.pos = n
		d.fail(ErrUnsupportedVersion, "format version "+strconv.FormatUint(v, 10)+" (this decoder reads "+strconv.Itoa(FormatVersion)+")")
	}
}

func (d *decDecoder) stringTable() {
	var total int
	n := d.count(d.lim.MaxStrings, &total, 1, "string", false)
	if d.err != nil {
		return
	}
	d.off = make([]int, n+1)
	d.nstr = n
	d.used = make([]uint64, (n+63)/64)
	sum := 0
	for i := 0; i < n; i++ {
		at := d.pos
		l := d.uvarint()
		if d.err != nil {
			return
		}
		if l > uint64(d.lim.MaxStringLen) {
			d.pos = at
			d.fail(ErrTooLarge, "string "+strconv.Itoa(i)+" length "+strconv.FormatUint(l, 10)+" exceeds the limit of "+strconv.Itoa(d.lim.MaxStringLen))
			return
		}
		sum += int(l)
		if sum > len(d.data)-d.pos {
			d.pos = at
			d.fail(ErrTruncated, "string table exceeds the remaining input")
			return
		}
		d.off[i+1] = sum
	}
	d.big = string(d.data[d.pos : d.pos+sum])
	base := d.pos
	prev := ""
	// An all-ASCII table (the usual case: keys, names, JSON of ASCII
	// values) is valid UTF-8 entry by entry; one pass over it replaces a
	// utf8.ValidString call per entry (~10% of Decode of 10 000 flags,
	// see the commit).
	ascii := codecASCII(d.data[base : base+sum])
	for i := 0; i < n; i++ {
		s := d.big[d.off[i]:d.off[i+1]]
		if !ascii && !utf8.ValidString(s) {
			d.pos = base + d.off[i]
			d.fail(ErrMalformed, "string "+strconv.Itoa(i)+" is not valid UTF-8")
			return
		}
		if i > 0 && s <= prev {
			d.pos = base + d.off[i]
			d.fail(ErrMalformed, "string "+strconv.Itoa(i)+" is not after string "+strconv.Itoa(i-1)+" (the table is sorted and unique)")
			return
		}
		prev = s
	}
	d.pos += sum
}

// codecASCII reports whether every byte of b is below 0x80, eight at a
// time.
func codecASCII(b []byte) bool {
	var or uint64
	for len(b) >= 8 {
		or |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		or |= uint64(c)
	}
	return or&0x8080808080808080 == 0
}

func (d *decDecoder) bundle() (*Bundle, error) {
	d.header()
	if d.err != nil {
		return nil, d.err
	}
	d.stringTable()
	if d.err != nil {
		return nil, codecWrap("string table", d.err)
	}
	b := &Bundle{}
	var total int
	m := d.mask(codecBundleAll)
	if d.err == nil && m&codecBundleAudience == 0 {
		d.fail(ErrMalformed, "bundle has no audience")
	}
	if m&codecBundleProject != 0 {
		b.Project = d.strField()
	}
	if m&codecBundleEnvironment != 0 {
		b.Environment = d.strField()
	}
	if m&codecBundleAudience != 0 {
		a := d.uvarint()
		if d.err == nil && a != uint64(AudienceServer) && a != uint64(AudienceClient) {
			d.pos--
			d.fail(ErrMalformed, "unknown audience "+strconv.FormatUint(a, 10))
		}
		b.Audience = Audience(a)
	}
	if m&codecBundleAttributes != 0 {
		n := d.count(d.lim.MaxAttributes, &total, 1, "attribute", true)
		if n > 0 {
			b.Attributes = make([]string, n)
			for i := range b.Attributes {
				b.Attributes[i] = d.str()
			}
		}
	}
	if m&codecBundleConsts != 0 {
		total = 0
		n := d.count(d.lim.MaxConsts, &total, 1, "const", true)
		if n > 0 {
			b.Consts = make([]Const, n)
			for i := range b.Consts {
				d.constv(&b.Consts[i], true)
				if d.err != nil {
					return nil, codecWrap("const "+strconv.Itoa(i), d.err)
				}
			}
		}
	}
	if m&codecBundleNodes != 0 {
		total = 0
		n := d.count(d.lim.MaxNodes, &total, 3, "node", true)
		if n > 0 {
			b.Nodes = make([]Node, n)
			for i := range b.Nodes {
				op := d.uvarint()
				if d.err == nil && op >= uint64(NumOps) {
					d.pos--
					d.fail(ErrMalformed, "unknown op "+strconv.FormatUint(op, 10))
				}
				nd := &b.Nodes[i]
				nd.Op = Op(op)
				nd.A = d.int32v()
				nd.B = d.int32v()
				if d.err != nil {
					return nil, codecWrap("node "+strconv.Itoa(i), d.err)
				}
			}
		}
	}
	if m&codecBundleArgs != 0 {
		total = 0
		n := d.count(d.lim.MaxArgs, &total, 1, "arg", true)
		if n > 0 {
			b.Args = make([]int32, n)
			for i := range b.Args {
				b.Args[i] = d.int32v()
			}
		}
	}
	if m&codecBundleSegments != 0 {
		total = 0
		n := d.count(d.lim.MaxSegments, &total, 1, "segment", true)
		if n > 0 {
			b.Segments = make([]Segment, n)
			for i := range b.Segments {
				d.segment(&b.Segments[i])
				if d.err != nil {
					return nil, codecWrap("segment "+strconv.Itoa(i), d.err)
				}
			}
		}
	}
	if m&codecBundleFlags != 0 {
		total = 0
		n := d.count(d.lim.MaxFlags, &total, 2, "flag", true)
		if n > 0 {
			b.Flags = make([]Flag, n)
			for i := range b.Flags {
				d.flag(&b.Flags[i])
				if d.err != nil {
					ctx := "flag " + strconv.Itoa(i)
					if k := b.Flags[i].Key; k != "" {
						ctx += " " + strconv.Quote(k)
					}
					return nil, codecWrap(ctx, d.err)
				}
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.pos != len(d.data) {
		d.fail(ErrTrailingData, strconv.Itoa(len(d.data)-d.pos)+" bytes after the end")
		return nil, d.err
	}
	for i := 0; i < d.nstr; i++ {
		if d.used[i>>6]&(1<<(uint(i)&63)) == 0 {
			return nil, codecWrap("string table", &codecError{ctx: "string " + strconv.Itoa(i) + " is never referenced", err: ErrMalformed})
		}
	}
	return b, nil
}

// constv reads a constant; top is false for list elements.
func (d *decDecoder) constv(c *Const, top bool) {
	at := d.pos
	k := d.uvarint()
	if d.err != nil {
		return
	}
	if k > uint64(ConstList) { // before the uint8 conversion, which would wrap
		d.pos = at
		d.fail(ErrMalformed, "unknown const kind "+strconv.FormatUint(k, 10))
		return
	}
	c.Kind = ConstKind(k)
	switch c.Kind {
	case ConstNull:
	case ConstBool:
		switch d.byte1() {
		case 0:
		case 1:
			c.Bool = true
		default:
			d.pos--
			d.fail(ErrMalformed, "boolean byte is not 0 or 1")
		}
	case ConstNum:
		if len(d.data)-d.pos < 8 {
			d.fail(ErrTruncated, "number")
			return
		}
		var bits uint64
		for i := 0; i < 8; i++ {
			bits |= uint64(d.data[d.pos+i]) << (8 * i)
		}
		c.Num = math.Float64frombits(bits)
		if math.IsNaN(c.Num) {
			d.fail(ErrMalformed, "number is NaN")
			return
		}
		d.pos += 8
	case ConstString:
		c.Str = d.str()
	case ConstList:
		if !top {
			d.pos = at
			d.fail(ErrMalformed, "list constant nested in a list")
			return
		}
		n := d.count(d.lim.MaxListLen, &d.nList, 1, "list element", false)
		if n > 0 {
			c.List = decTake(d, &d.aConsts, n)
			for i := range c.List {
				d.constv(&c.List[i], false)
				if d.err != nil {
					d.err = codecWrap("element "+strconv.Itoa(i), d.err)
					return
				}
			}
		}
	default:
		d.pos = at
		d.fail(ErrMalformed, "unknown const kind "+strconv.FormatUint(k, 10))
	}
}

func (d *decDecoder) segment(s *Segment) {
	m := d.mask(codecSegAll)
	if m&codecSegName != 0 {
		s.Name = d.strField()
	}
	if m&codecSegWhen != 0 {
		s.When = d.nz32()
	}
	if m&codecSegKeyAttr != 0 {
		s.KeyAttr = d.nz32()
	}
	if m&codecSegKeys != 0 {
		n := d.count(d.lim.MaxKeys, &d.nKeys, 1, "key", true)
		if n > 0 {
			s.Keys = decTake(d, &d.aStrs, n)
			for i := range s.Keys {
				s.Keys[i] = d.str()
			}
		}
	}
	if m&codecSegKeySalt != 0 {
		var total int
		n := d.count(d.lim.MaxStringLen, &total, 1, "key salt byte", true)
		if n > 0 {
			s.KeySalt = append([]byte(nil), d.data[d.pos:d.pos+n]...)
			d.pos += n
		}
	}
	if m&codecSegKeyDigests != 0 {
		n := d.count(d.lim.MaxKeys, &d.nKeys, 32, "key digest", true)
		if n > 0 {
			s.KeyDigests = make([][32]byte, n)
			for i := range s.KeyDigests {
				copy(s.KeyDigests[i][:], d.data[d.pos:d.pos+32])
				d.pos += 32
			}
		}
	}
}

func (d *decDecoder) flag(f *Flag) {
	m := d.mask(codecFlagAll)
	if d.err == nil && m&codecFlagType == 0 {
		d.fail(ErrMalformed, "flag has no type")
		return
	}
	if m&codecFlagKey != 0 {
		f.Key = d.strField()
	}
	if m&codecFlagType != 0 {
		t := d.uvarint()
		if d.err == nil && (t < uint64(TypeBoolean) || t > uint64(TypeObject)) {
			d.pos--
			d.fail(ErrMalformed, "unknown flag type "+strconv.FormatUint(t, 10))
		}
		f.Type = FlagType(t)
	}
	if m&codecFlagVariants != 0 {
		// Flags of one type often have the same variants (on/off):
		// remember the last variant list per type.
		rep := &d.rVariants[min(f.Type, TypeObject)] // Type is checked above unless d.err is set
		at := d.pos
		if n := len(rep.elems); rep.match(d) && n <= d.lim.MaxVariants-d.nVariants {
			d.nVariants += n
			d.pos += len(rep.raw)
			f.Variants = rep.elems
		} else if n = d.count(d.lim.MaxVariants, &d.nVariants, 1, "variant", true); n > 0 {
			f.Variants = decTake(d, &d.aVariants, n)
			for i := range f.Variants {
				v := &f.Variants[i]
				vm := d.mask(codecVariantAll)
				if vm&codecVariantName != 0 {
					v.Name = d.strField()
				}
				if vm&codecVariantValue != 0 {
					v.Value = d.bytesField()
				}
				if d.err != nil {
					d.err = codecWrap("variant "+strconv.Itoa(i), d.err)
					return
				}
			}
			rep.set(d, at, f.Variants, 0)
		}
	}
	if m&codecFlagEnabled != 0 {
		if b := d.byte1(); d.err == nil && b != 1 {
			d.pos--
			d.fail(ErrMalformed, "enabled byte is not 1 (false is omitted)")
		}
		f.Enabled = true
	}
	if m&codecFlagDefaultVariant != 0 {
		f.DefaultVariant = d.nz32()
	}
	if m&codecFlagOffVariant != 0 {
		f.OffVariant = d.nz32()
	}
	if m&codecFlagRules != 0 {
		rep := &d.rRules
		at, arms := d.pos, d.nWeights
		if n := len(rep.elems); rep.match(d) && n <= d.lim.MaxRules-d.nRules && rep.inner <= d.lim.MaxWeights-d.nWeights {
			d.nRules += n
			d.nWeights += rep.inner
			d.pos += len(rep.raw)
			f.Rules = rep.elems
		} else if n = d.count(d.lim.MaxRules, &d.nRules, 1, "rule", true); n > 0 {
			f.Rules = decTake(d, &d.aRules, n)
			for i := range f.Rules {
				r := &f.Rules[i]
				rm := d.mask(codecRuleAll)
				if rm&codecRuleID != 0 {
					r.ID = d.strField()
				}
				if rm&codecRuleWhen != 0 {
					r.When = d.nz32()
				}
				if rm&codecRuleServe != 0 {
					d.serve(&r.Serve)
				}
				if d.err != nil {
					d.err = codecWrap("rule "+strconv.Itoa(i), d.err)
					return
				}
			}
			rep.set(d, at, f.Rules, d.nWeights-arms)
		}
	}
	if m&codecFlagDefault != 0 {
		d.serve(&f.Default)
		if d.err != nil {
			d.err = codecWrap("default", d.err)
			return
		}
	}
	if m&codecFlagSalt != 0 {
		f.Salt = d.strField()
	}
	if m&codecFlagMetadata != 0 {
		n := d.count(d.lim.MaxMeta, &d.nMeta, 1, "metadata", true)
		if n > 0 {
			f.Metadata = decTake(d, &d.aMeta, n)
			for i := range f.Metadata {
				md := &f.Metadata[i]
				mm := d.mask(codecMetaAll)
				if mm&codecMetaKey != 0 {
					md.Key = d.strField()
				}
				if mm&codecMetaValue != 0 {
					at := d.pos
					d.constv(&md.Value, true)
					if d.err == nil && md.Value.Kind == ConstNull {
						d.pos = at
						d.fail(ErrMalformed, "explicit null value (null is omitted)")
					}
				}
				if d.err != nil {
					d.err = codecWrap("metadata "+strconv.Itoa(i), d.err)
					return
				}
			}
		}
	}
}

// serve reads a Serve in a field; an empty one is the zero value, which is
// omitted, so it is rejected.
func (d *decDecoder) serve(s *Serve) {
	m := d.mask(codecServeAll)
	if m == 0 {
		if d.err == nil {
			d.pos--
			d.fail(ErrMalformed, "explicit empty serve (empty fields are omitted)")
		}
		d.err = codecWrap("serve", d.err)
		return
	}
	if m&codecServeVariant != 0 {
		s.Variant = d.nz32()
	}
	if m&codecServeSplit != 0 {
		rep := &d.rSplit
		at := d.pos
		if n := len(rep.elems); rep.match(d) && n <= d.lim.MaxWeights-d.nWeights {
			d.nWeights += n
			d.pos += len(rep.raw)
			s.Split = rep.elems
		} else if n = d.count(d.lim.MaxWeights, &d.nWeights, 2, "split arm", true); n > 0 {
			s.Split = decTake(d, &d.aWeights, n)
			for i := range s.Split {
				w := &s.Split[i]
				w.Variant = d.int32v()
				u := d.uvarint()
				if u > math.MaxUint32 {
					d.fail(ErrMalformed, "weight overflows 32 bits")
				}
				w.Weight = uint32(u)
			}
			rep.set(d, at, s.Split, 0)
		}
	}
	if m&codecServeBucketBy != 0 {
		s.BucketBy = d.nz32()
	}
	if d.err != nil {
		d.err = codecWrap("serve", d.err)
	}
}
