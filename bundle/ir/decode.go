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
// The returned Bundle is the caller's: it shares no memory with data, and
// no two of its slices share elements, so it may be changed like a Bundle
// built by hand. (Its strings share one backing string, which is
// immutable.) Decode does not call Validate.
func Decode(data []byte, lim Limits) (*Bundle, error) {
	d, err := newDecoder(data, lim, false)
	if err != nil {
		return nil, codecWrap("decode bundle", err)
	}
	b := &Bundle{}
	n := d.tables(b)
	if d.err != nil {
		return nil, codecWrap("decode bundle", d.err)
	}
	if n > 0 {
		b.Flags = make([]Flag, n)
		for i := range b.Flags {
			d.flag(&b.Flags[i])
			if d.err != nil {
				return nil, codecWrap("decode bundle", flagContext(i, &b.Flags[i], d.err))
			}
		}
	}
	if err := d.end(); err != nil {
		return nil, codecWrap("decode bundle", err)
	}
	return b, nil
}

func flagContext(i int, f *Flag, err error) error {
	ctx := "flag " + strconv.Itoa(i)
	if f.Key != "" {
		ctx += " " + strconv.Quote(f.Key)
	}
	return codecWrap(ctx, err)
}

// A Reader decodes and validates an encoded bundle one flag at a time,
// for a loader that turns each flag into its own form and needs no
// Bundle of them all: it decodes exactly what Decode decodes and applies
// exactly the checks of Bundle.Validate (all of them by the time Next
// returns false), without holding more than one decoded flag.
//
// Its errors are Decode's (decode failures, wrapping Decode's sentinels)
// or Validate's (wrapping ErrInvalid); which of two problems in one
// bundle is reported first may differ from Decode followed by Validate.
type Reader struct {
	d      decDecoder
	tables *Bundle
	c      *checker
	n, i   int
	err    error
	// rulesNV is the variant count of the last flag with rules: a
	// repeated rule list was checked against it.
	rulesNV                 int
	sameVariants, sameRules bool
}

// NewReader reads the header and every table before the flags (see
// Tables) and checks them.
func NewReader(data []byte, lim Limits) (*Reader, error) {
	d, err := newDecoder(data, lim, true)
	if err != nil {
		return nil, codecWrap("decode bundle", err)
	}
	r := &Reader{d: *d, tables: &Bundle{}, rulesNV: -1}
	r.n = r.d.tables(r.tables)
	if r.d.err != nil {
		return nil, codecWrap("decode bundle", r.d.err)
	}
	if r.c, err = newChecker(r.tables, r.n); err != nil {
		return nil, err
	}
	return r, nil
}

// Tables returns the bundle's project, environment, audience and tables:
// everything but its flags (Flags is nil). They are valid and the
// caller's to keep (the Reader does not change them); flags index them.
func (r *Reader) Tables() *Bundle { return r.tables }

// Len returns the number of flags in the bundle.
func (r *Reader) Len() int { return r.n }

// Next decodes and checks the next flag into f, overwriting it, and
// reports whether there was one without error. f's lists (variants,
// rules, splits, metadata) are the Reader's arrays and its variant values
// slices of the input: everything f holds but its strings is valid only
// until the next call to Next and while the input is unchanged, and must
// not be modified (a repeated list is handed out again, not decoded
// again). After the last flag Next runs the checks that need every flag
// and returns false; Err then tells whether the whole bundle decoded and
// validated.
func (r *Reader) Next(f *Flag) bool {
	if r.err != nil || r.i > r.n {
		return false
	}
	if r.i == r.n {
		r.i++
		if err := r.d.end(); err != nil {
			r.err = codecWrap("decode bundle", err)
		} else {
			r.err = r.c.finish()
		}
		return false
	}
	d := &r.d
	d.flag(f)
	if d.err != nil {
		r.err = codecWrap("decode bundle", flagContext(r.i, f, d.err))
		return false
	}
	r.sameVariants = d.repVariants
	r.sameRules = d.repRules && len(f.Variants) == r.rulesNV
	r.c.texts = r.Values()
	if err := r.c.flag(r.i, f, r.sameVariants, r.sameRules); err != nil {
		r.err = err
		return false
	}
	if len(f.Rules) > 0 {
		r.rulesNV = len(f.Variants)
	}
	r.i++
	return true
}

// Repeated reports whether the flag Next last returned has the same
// variant list as the last flag of its type (variants), and the same
// rule list, with as many variants, as the last flag that had rules
// (rules). Equal encodings within one bundle are equal lists, so a loader
// may reuse what it built from the earlier list.
func (r *Reader) Repeated() (variants, rules bool) { return r.sameVariants, r.sameRules }

// Values returns the values of the variants of the flag Next last
// returned (Values()[k] is Variants[k].Value) as strings that share the
// Reader's string table instead of copying it, valid as long as any
// string of the flag.
func (r *Reader) Values() []string { return r.d.lastTexts[r.d.lastType] }

// Parsed returns the values of the variants of the flag Next last
// returned, parsed (as ParseJSONString parses Values) when Next checked
// them, valid until the next call to Next; nil when Next did not check
// them because the list repeats the last one of its type (Repeated).
func (r *Reader) Parsed() []any {
	if r.sameVariants {
		return nil
	}
	return r.c.parsed
}

// Err returns the first error of the Reader, or nil; after Next returned
// false, nil means the whole bundle decoded and validated.
func (r *Reader) Err() error { return r.err }

// decDecoder reads one encoding. In fresh mode (Decode) every slice it
// returns is new memory, carved from its arenas without overlap; in reuse
// mode (Reader) a flag's lists are in the decoder's scratch arrays and
// variant values alias the input. Tables are new memory in both.
type decDecoder struct {
	data  []byte
	pos   int
	err   error
	lim   Limits
	reuse bool

	big     string   // the string table's bytes
	off     []uint32 // entry i is big[off[i]:off[i+1]]
	nstr    int      // entries in the table
	used    []uint64
	tableAt int // offset of big in data

	nList, nKeys, nVariants, nRules, nWeights, nMeta int

	// Arenas: element slices are carved from shared chunks.
	aVariants decArena[Variant]
	aRules    decArena[Rule]
	aWeights  decArena[Weight]
	aMeta     decArena[Meta]
	aStrs     decArena[string]
	aConsts   decArena[Const]
	aBytes    decArena[byte]

	// Reuse mode: the arrays a flag's lists are decoded into (variants
	// one per type; a rule's split array stays with its slot in sRules),
	// and the encodings the lists in them were decoded from, with their
	// element counts. A flag whose list has the same encoding gets the
	// list again without decoding: repVariants, repRules.
	sVariants             [TypeObject + 1][]Variant
	sRules                []Rule
	sMeta                 []Meta
	sSplit                []Weight // the default serve's
	rawVariants           [TypeObject + 1][]byte
	rawRules              []byte
	lastVariants          [TypeObject + 1][]Variant
	lastRules             []Rule
	lastRuleArms          int // split arms inside lastRules
	repVariants, repRules bool
	// Variant values as strings of the table (Reader.Values), by type;
	// lastStr is the string bytesField last read, lastType the last
	// flag's type.
	sTexts, lastTexts [TypeObject + 1][]string
	lastStr           string
	lastType          FlagType
}

// newDecoder checks the input's size and reads the header and the string
// table.
func newDecoder(data []byte, lim Limits, reuse bool) (*decDecoder, error) {
	lim = lim.codecWithDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &codecError{ctx: "input of " + strconv.Itoa(len(data)) + " bytes exceeds " + strconv.Itoa(lim.MaxBytes), err: ErrTooLarge}
	}
	d := &decDecoder{data: data, lim: lim, reuse: reuse}
	d.aBytes.max = 32 << 10
	d.header()
	if d.err != nil {
		return nil, d.err
	}
	d.stringTable()
	if d.err != nil {
		return nil, codecWrap("string table", d.err)
	}
	return d, nil
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
// here and in mask and strIndex: each is one call on the hot path instead of
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

// bytesField reads the bytes of a present field (a variant value), which
// must not be empty: a copy of its own (fresh mode) or the table entry in
// the input (reuse mode).
func (d *decDecoder) bytesField() []byte {
	i := d.strIndex()
	if i < 0 {
		return nil
	}
	a, b := int(d.off[i]), int(d.off[i+1])
	if a == b {
		d.fail(ErrMalformed, "explicit empty value (empty fields are omitted)")
		return nil
	}
	if d.reuse {
		d.lastStr = d.big[a:b]
		a, b = a+d.tableAt, b+d.tableAt
		return d.data[a:b:b]
	}
	v := decTake(d, &d.aBytes, b-a)
	copy(v, d.big[a:b])
	return v
}

// decArena is a chunk that element slices are carved from.
type decArena[T any] struct {
	free  []T // the unused rest of the current chunk
	chunk int // the current chunk's length
	max   int // the longest chunk; 0 means 1024
}

// decTake carves n elements from an arena. A new chunk is twice the last
// one (starting at 16 elements), at most a.max, and at most an eighth of
// the remaining input (each element takes at least one byte), but at least
// n. Small first chunks keep a small bundle's decode small.
func decTake[T any](d *decDecoder, a *decArena[T], n int) []T {
	if n > len(a.free) {
		longest := a.max
		if longest == 0 {
			longest = 1024
		}
		c := min(max(2*a.chunk, 16), longest, (len(d.data)-d.pos)/8)
		c = max(c, n)
		a.free, a.chunk = make([]T, c), c
	}
	s := a.free[:n:n]
	a.free = a.free[n:]
	return s
}

// slots returns n zeroed elements for a list of a flag: from the arena
// (fresh mode) or the scratch array *scratch, grown as needed (reuse
// mode).
func slots[T any](d *decDecoder, a *decArena[T], scratch *[]T, n int) []T {
	if !d.reuse {
		return decTake(d, a, n)
	}
	if cap(*scratch) < n {
		*scratch = make([]T, n, max(n, 2*cap(*scratch)))
	}
	s := (*scratch)[:n]
	clear(s)
	return s
}

// repeats reports whether the input at d.pos starts with raw, a section
// decoded before.
func (d *decDecoder) repeats(raw []byte) bool {
	return len(raw) != 0 && len(raw) <= len(d.data)-d.pos && string(d.data[d.pos:d.pos+len(raw)]) == string(raw)
}

// splitSlots returns n elements for the split of serve s: from the arena
// (fresh mode), or s.Split's array, which is a rule's own scratch or the
// default serve's (reuse mode).
func (d *decDecoder) splitSlots(s *Serve, n int) []Weight {
	if !d.reuse {
		return decTake(d, &d.aWeights, n)
	}
	if cap(s.Split) < n {
		return make([]Weight, n, max(n, 4))
	}
	return s.Split[:n]
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
	if uint64(len(d.data)-d.pos) > math.MaxUint32 { // uint64: int is 32 bits in TinyGo's wasm
		d.fail(ErrTooLarge, "input over 4 GiB")
		return
	}
	d.off = make([]uint32, n+1)
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
		d.off[i+1] = uint32(sum)
	}
	d.big = string(d.data[d.pos : d.pos+sum])
	base := d.pos
	d.tableAt = base
	prev := ""
	// An all-ASCII table (the usual case: keys, names, JSON of ASCII
	// values) is valid UTF-8 entry by entry: one pass over it instead of
	// a utf8.ValidString call per entry.
	ascii := codecASCII(d.data[base : base+sum])
	for i := 0; i < n; i++ {
		s := d.big[d.off[i]:d.off[i+1]]
		if !ascii && !utf8.ValidString(s) {
			d.pos = base + int(d.off[i])
			d.fail(ErrMalformed, "string "+strconv.Itoa(i)+" is not valid UTF-8")
			return
		}
		if i > 0 && s <= prev {
			d.pos = base + int(d.off[i])
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

// tables reads the Bundle record up to its flags into b and returns the
// number of flags; check d.err.
func (d *decDecoder) tables(b *Bundle) int {
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
					d.err = codecWrap("const "+strconv.Itoa(i), d.err)
					return 0
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
					d.err = codecWrap("node "+strconv.Itoa(i), d.err)
					return 0
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
					d.err = codecWrap("segment "+strconv.Itoa(i), d.err)
					return 0
				}
			}
		}
	}
	if m&codecBundleFlags != 0 {
		total = 0
		return d.count(d.lim.MaxFlags, &total, 2, "flag", true)
	}
	return 0
}

// end checks that the input ends after the last flag and that every
// string table entry was used.
func (d *decDecoder) end() error {
	if d.err != nil {
		return d.err
	}
	if d.pos != len(d.data) {
		d.fail(ErrTrailingData, strconv.Itoa(len(d.data)-d.pos)+" bytes after the end")
		return d.err
	}
	for i := 0; i < d.nstr; i++ {
		if d.used[i>>6]&(1<<(uint(i)&63)) == 0 {
			return codecWrap("string table", &codecError{ctx: "string " + strconv.Itoa(i) + " is never referenced", err: ErrMalformed})
		}
	}
	return nil
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

// flag reads a Flag record into f, overwriting all of it. In reuse mode
// f's lists are made in the decoder's scratch arrays.
func (d *decDecoder) flag(f *Flag) {
	*f = Flag{}
	if d.reuse {
		f.Default.Split = d.sSplit[:0]
	}

	d.repVariants, d.repRules = false, false
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
		d.lastType = min(f.Type, TypeObject)
	}
	if m&codecFlagVariants != 0 {
		at := d.pos
		t := min(f.Type, TypeObject) // valid unless d.err is set
		if raw := d.rawVariants[t]; d.reuse && d.repeats(raw) && len(d.lastVariants[t]) <= d.lim.MaxVariants-d.nVariants {
			d.pos += len(raw)
			d.nVariants += len(d.lastVariants[t])
			f.Variants, d.repVariants = d.lastVariants[t], true
		} else if n := d.count(d.lim.MaxVariants, &d.nVariants, 1, "variant", true); n > 0 {
			f.Variants = slots(d, &d.aVariants, &d.sVariants[t], n)
			var texts []string
			if d.reuse {
				texts = slots(d, nil, &d.sTexts[t], n)
			}
			for i := range f.Variants {
				v := &f.Variants[i]
				vm := d.mask(codecVariantAll)
				if vm&codecVariantName != 0 {
					v.Name = d.strField()
				}
				if vm&codecVariantValue != 0 {
					v.Value = d.bytesField()
					if texts != nil && len(v.Value) > 0 {
						texts[i] = d.lastStr
					}
				}
				if d.err != nil {
					d.err = codecWrap("variant "+strconv.Itoa(i), d.err)
					return
				}
			}
			if d.reuse {
				d.rawVariants[t], d.lastVariants[t], d.lastTexts[t] = d.data[at:d.pos], f.Variants, texts
			}
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
		at, arms := d.pos, d.nWeights
		if raw := d.rawRules; d.reuse && d.repeats(raw) && len(d.lastRules) <= d.lim.MaxRules-d.nRules &&
			d.lastRuleArms <= d.lim.MaxWeights-d.nWeights {
			d.pos += len(raw)
			d.nRules += len(d.lastRules)
			d.nWeights += d.lastRuleArms
			f.Rules, d.repRules = d.lastRules, true
		} else if n := d.count(d.lim.MaxRules, &d.nRules, 1, "rule", true); n > 0 {
			if d.reuse && cap(d.sRules) >= n {
				// Keep each scratch rule's split array for its new rule.
				f.Rules = d.sRules[:n]
				for i := range f.Rules {
					r := &f.Rules[i]
					*r = Rule{Serve: Serve{Split: r.Serve.Split[:0]}}
				}
			} else {
				f.Rules = slots(d, &d.aRules, &d.sRules, n)
			}
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
			if d.reuse {
				d.rawRules, d.lastRules, d.lastRuleArms = d.data[at:d.pos], f.Rules, d.nWeights-arms
			}
		}
	}
	if m&codecFlagDefault != 0 {
		d.serve(&f.Default)
		if d.err != nil {
			d.err = codecWrap("default", d.err)
			return
		}
		if d.reuse {
			d.sSplit = f.Default.Split[:0]
		}
	}
	if m&codecFlagSalt != 0 {
		f.Salt = d.strField()
	}
	if m&codecFlagMetadata != 0 {
		n := d.count(d.lim.MaxMeta, &d.nMeta, 1, "metadata", true)
		if n > 0 {
			f.Metadata = slots(d, &d.aMeta, &d.sMeta, n)
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

// serve reads a Serve in a field into s (whose Split, in reuse mode, is
// an empty slice to reuse); an empty one is the zero value, which is
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
		if n := d.count(d.lim.MaxWeights, &d.nWeights, 2, "split arm", true); n > 0 {
			s.Split = d.splitSlots(s, n)
			for i := range s.Split {
				w := &s.Split[i]
				w.Variant = d.int32v()
				u := d.uvarint()
				if u > math.MaxUint32 {
					d.fail(ErrMalformed, "weight overflows 32 bits")
				}
				w.Weight = uint32(u)
			}
		}
	}
	if m&codecServeBucketBy != 0 {
		s.BucketBy = d.nz32()
	}
	if d.err != nil {
		d.err = codecWrap("serve", d.err)
	}
}
