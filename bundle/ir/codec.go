package ir

// The binary encoding of a Bundle. docs/ir-encoding.md is the byte-level
// specification; this file is its reference implementation.

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// codecMagic opens every encoded bundle.
const codecMagic = "EFIR"

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

// Limits bound what Decode accepts, so that hostile input cannot make it
// allocate or work without bound. A zero field means the DefaultLimits
// value. Counts marked "total" are summed over the whole bundle.
type Limits struct {
	MaxBytes      int // length of the input
	MaxStrings    int // entries in the string table
	MaxStringLen  int // bytes of one string table entry or KeySalt
	MaxAttributes int // Bundle.Attributes
	MaxConsts     int // Bundle.Consts
	MaxListLen    int // total elements of list constants
	MaxNodes      int // Bundle.Nodes
	MaxArgs       int // Bundle.Args
	MaxSegments   int // Bundle.Segments
	MaxKeys       int // total Keys plus KeyDigests over all segments
	MaxFlags      int // Bundle.Flags
	MaxVariants   int // total variants over all flags
	MaxRules      int // total rules over all flags
	MaxWeights    int // total split arms over all serves
	MaxMeta       int // total metadata entries over all flags
}

// DefaultLimits returns generous but finite limits: far above any real
// bundle (10 000 flags of three rules encode in about 0.5 MiB), low enough
// that decoding hostile input stays within a few hundred MiB of memory.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:      64 << 20,
		MaxStrings:    4 << 20,
		MaxStringLen:  1 << 20,
		MaxAttributes: 100_000,
		MaxConsts:     1 << 20,
		MaxListLen:    1 << 20,
		MaxNodes:      1 << 20,
		MaxArgs:       1 << 20,
		MaxSegments:   100_000,
		MaxKeys:       4 << 20,
		MaxFlags:      100_000,
		MaxVariants:   2 << 20,
		MaxRules:      1 << 20,
		MaxWeights:    2 << 20,
		MaxMeta:       1 << 20,
	}
}

func (l Limits) codecWithDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxBytes, d.MaxBytes)
	set(&l.MaxStrings, d.MaxStrings)
	set(&l.MaxStringLen, d.MaxStringLen)
	set(&l.MaxAttributes, d.MaxAttributes)
	set(&l.MaxConsts, d.MaxConsts)
	set(&l.MaxListLen, d.MaxListLen)
	set(&l.MaxNodes, d.MaxNodes)
	set(&l.MaxArgs, d.MaxArgs)
	set(&l.MaxSegments, d.MaxSegments)
	set(&l.MaxKeys, d.MaxKeys)
	set(&l.MaxFlags, d.MaxFlags)
	set(&l.MaxVariants, d.MaxVariants)
	set(&l.MaxRules, d.MaxRules)
	set(&l.MaxWeights, d.MaxWeights)
	set(&l.MaxMeta, d.MaxMeta)
	return l
}

// Record field tags (see docs/ir-encoding.md). Tag 0 ends a record.
const (
	codecBundleProject     = 1
	codecBundleEnvironment = 2
	codecBundleAudience    = 3
	codecBundleAttributes  = 4
	codecBundleConsts      = 5
	codecBundleNodes       = 6
	codecBundleArgs        = 7
	codecBundleSegments    = 8
	codecBundleFlags       = 9
	codecBundleMaxTag      = 9

	codecSegName       = 1
	codecSegWhen       = 2
	codecSegKeyAttr    = 3
	codecSegKeys       = 4
	codecSegKeySalt    = 5
	codecSegKeyDigests = 6
	codecSegMaxTag     = 6

	codecFlagKey            = 1
	codecFlagType           = 2
	codecFlagVariants       = 3
	codecFlagEnabled        = 4
	codecFlagDefaultVariant = 5
	codecFlagOffVariant     = 6
	codecFlagRules          = 7
	codecFlagDefault        = 8
	codecFlagSalt           = 9
	codecFlagMetadata       = 10
	codecFlagMaxTag         = 10

	codecVariantName   = 1
	codecVariantValue  = 2
	codecVariantMaxTag = 2

	codecRuleID     = 1
	codecRuleWhen   = 2
	codecRuleServe  = 3
	codecRuleMaxTag = 3

	codecServeVariant  = 1
	codecServeSplit    = 2
	codecServeBucketBy = 3
	codecServeMaxTag   = 3

	codecMetaKey    = 1
	codecMetaValue  = 2
	codecMetaMaxTag = 2
)

// codecError adds context to a wrapped sentinel.
type codecError struct {
	ctx string
	err error
}

func (e *codecError) Error() string { return e.ctx + ": " + e.err.Error() }
func (e *codecError) Unwrap() error { return e.err }

func codecWrap(ctx string, err error) error {
	if err == nil {
		return nil
	}
	return &codecError{ctx: ctx, err: err}
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

// Encode returns the canonical binary encoding of b: the same Bundle value
// always yields the same bytes, and Decode(Encode(b)) yields an equal Bundle
// (empty slices decode as nil). It fails on values that have no canonical
// encoding: strings or variant values that are not valid UTF-8, NaN numbers,
// unknown Audience, FlagType, Op or ConstKind values, constants with fields
// set that their Kind does not use, and lists nested in lists.
//
// Encode does not validate references between tables; Validate does.
func Encode(b *Bundle) ([]byte, error) {
	if b == nil {
		return nil, errors.New("encode bundle: nil bundle")
	}
	// Pass 1 collects (and checks) every string the encoding references;
	// pass 2, the same walk, writes them as indices into the sorted table.
	// Pass 1 writes into a scratch buffer whose length sizes pass 2's.
	e := &codecEncoder{collect: true, strs: map[string]int{}}
	e.bundle(b)
	if e.err != nil {
		return nil, codecWrap("encode bundle", e.err)
	}
	table := make([]string, 0, len(e.strs))
	size := len(codecMagic) + 16 + 2*len(e.buf)
	for s := range e.strs {
		table = append(table, s)
		size += len(s) + 2
	}
	sort.Strings(table)
	for i, s := range table {
		e.strs[s] = i
	}
	e.collect = false
	e.buf = make([]byte, 0, size)
	e.buf = append(e.buf, codecMagic...)
	e.uvarint(FormatVersion)
	e.uvarint(uint64(len(table)))
	for _, s := range table {
		e.uvarint(uint64(len(s)))
	}
	for _, s := range table {
		e.buf = append(e.buf, s...)
	}
	e.bundle(b)
	if e.err != nil { // cannot happen: pass 1 checked the same walk
		return nil, codecWrap("encode bundle", e.err)
	}
	return e.buf, nil
}

type codecEncoder struct {
	buf     []byte
	collect bool
	strs    map[string]int
	err     error
}

func (e *codecEncoder) fail(msg string) {
	if e.err == nil {
		e.err = errors.New(msg)
	}
}

func (e *codecEncoder) uvarint(v uint64) {
	for v >= 0x80 {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

func (e *codecEncoder) int32v(v int32) {
	e.uvarint(uint64(uint32(v<<1) ^ uint32(v>>31)))
}

// str writes a reference to s in the string table.
func (e *codecEncoder) str(s string) {
	if e.collect {
		if _, ok := e.strs[s]; !ok {
			if !utf8.ValidString(s) {
				e.fail("string " + strconv.Quote(s) + " is not valid UTF-8")
				return
			}
			e.strs[s] = 0
		}
		e.buf = append(e.buf, 0)
		return
	}
	e.uvarint(uint64(e.strs[s]))
}

// Field writers: each omits a zero value.

func (e *codecEncoder) fStr(tag uint64, s string) {
	if s != "" {
		e.uvarint(tag)
		e.str(s)
	}
}

func (e *codecEncoder) fInt32(tag uint64, v int32) {
	if v != 0 {
		e.uvarint(tag)
		e.int32v(v)
	}
}

func (e *codecEncoder) fStrs(tag uint64, ss []string) {
	if len(ss) != 0 {
		e.uvarint(tag)
		e.uvarint(uint64(len(ss)))
		for _, s := range ss {
			e.str(s)
		}
	}
}

func (e *codecEncoder) bundle(b *Bundle) {
	e.fStr(codecBundleProject, b.Project)
	e.fStr(codecBundleEnvironment, b.Environment)
	if b.Audience != AudienceServer && b.Audience != AudienceClient {
		e.fail("unknown audience " + strconv.Itoa(int(b.Audience)))
		return
	}
	e.uvarint(codecBundleAudience)
	e.uvarint(uint64(b.Audience))
	e.fStrs(codecBundleAttributes, b.Attributes)
	if e.err != nil {
		return
	}
	if len(b.Consts) != 0 {
		e.uvarint(codecBundleConsts)
		e.uvarint(uint64(len(b.Consts)))
		for i := range b.Consts {
			e.constv(&b.Consts[i], true)
			if e.err != nil {
				e.err = codecWrap("const "+strconv.Itoa(i), e.err)
				return
			}
		}
	}
	if len(b.Nodes) != 0 {
		e.uvarint(codecBundleNodes)
		e.uvarint(uint64(len(b.Nodes)))
		for i, n := range b.Nodes {
			if int(n.Op) >= NumOps {
				e.fail("node " + strconv.Itoa(i) + ": unknown op " + strconv.Itoa(int(n.Op)))
				return
			}
			e.uvarint(uint64(n.Op))
			e.int32v(n.A)
			e.int32v(n.B)
		}
	}
	if len(b.Args) != 0 {
		e.uvarint(codecBundleArgs)
		e.uvarint(uint64(len(b.Args)))
		for _, a := range b.Args {
			e.int32v(a)
		}
	}
	if len(b.Segments) != 0 {
		e.uvarint(codecBundleSegments)
		e.uvarint(uint64(len(b.Segments)))
		for i := range b.Segments {
			e.segment(&b.Segments[i])
			if e.err != nil {
				e.err = codecWrap("segment "+strconv.Itoa(i)+" "+strconv.Quote(b.Segments[i].Name), e.err)
				return
			}
		}
	}
	if len(b.Flags) != 0 {
		e.uvarint(codecBundleFlags)
		e.uvarint(uint64(len(b.Flags)))
		for i := range b.Flags {
			e.flag(&b.Flags[i])
			if e.err != nil {
				e.err = codecWrap("flag "+strconv.Itoa(i)+" "+strconv.Quote(b.Flags[i].Key), e.err)
				return
			}
		}
	}
	e.uvarint(0)
}

// constv writes a constant: its kind, then the kind's payload.
func (e *codecEncoder) constv(c *Const, top bool) {
	extra := false
	switch c.Kind {
	case ConstNull:
		extra = c.Bool || c.Num != 0 || math.Signbit(c.Num) || c.Str != "" || c.List != nil
	case ConstBool:
		extra = c.Num != 0 || math.Signbit(c.Num) || c.Str != "" || c.List != nil
	case ConstNum:
		extra = c.Bool || c.Str != "" || c.List != nil
	case ConstString:
		extra = c.Bool || c.Num != 0 || math.Signbit(c.Num) || c.List != nil
	case ConstList:
		extra = c.Bool || c.Num != 0 || math.Signbit(c.Num) || c.Str != ""
	default:
		e.fail("unknown const kind " + strconv.Itoa(int(c.Kind)))
		return
	}
	if extra {
		e.fail("const of kind " + strconv.Itoa(int(c.Kind)) + " has fields set that the kind does not use")
		return
	}
	e.uvarint(uint64(c.Kind))
	switch c.Kind {
	case ConstBool:
		if c.Bool {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case ConstNum:
		if math.IsNaN(c.Num) {
			e.fail("const number is NaN")
			return
		}
		bits := math.Float64bits(c.Num)
		for i := 0; i < 8; i++ {
			e.buf = append(e.buf, byte(bits>>(8*i)))
		}
	case ConstString:
		e.str(c.Str)
	case ConstList:
		if !top {
			e.fail("list constant nested in a list")
			return
		}
		e.uvarint(uint64(len(c.List)))
		for i := range c.List {
			e.constv(&c.List[i], false)
			if e.err != nil {
				e.err = codecWrap("element "+strconv.Itoa(i), e.err)
				return
			}
		}
	}
}

func (e *codecEncoder) segment(s *Segment) {
	e.fStr(codecSegName, s.Name)
	e.fInt32(codecSegWhen, s.When)
	e.fInt32(codecSegKeyAttr, s.KeyAttr)
	e.fStrs(codecSegKeys, s.Keys)
	if len(s.KeySalt) != 0 {
		e.uvarint(codecSegKeySalt)
		e.uvarint(uint64(len(s.KeySalt)))
		e.buf = append(e.buf, s.KeySalt...)
	}
	if len(s.KeyDigests) != 0 {
		e.uvarint(codecSegKeyDigests)
		e.uvarint(uint64(len(s.KeyDigests)))
		for i := range s.KeyDigests {
			e.buf = append(e.buf, s.KeyDigests[i][:]...)
		}
	}
	e.uvarint(0)
}

func (e *codecEncoder) flag(f *Flag) {
	e.fStr(codecFlagKey, f.Key)
	if f.Type < TypeBoolean || f.Type > TypeObject {
		e.fail("unknown flag type " + strconv.Itoa(int(f.Type)))
		return
	}
	e.uvarint(codecFlagType)
	e.uvarint(uint64(f.Type))
	if len(f.Variants) != 0 {
		e.uvarint(codecFlagVariants)
		e.uvarint(uint64(len(f.Variants)))
		for i := range f.Variants {
			v := &f.Variants[i]
			e.fStr(codecVariantName, v.Name)
			if len(v.Value) != 0 {
				if e.collect && !utf8.Valid(v.Value) {
					e.fail("variant " + strconv.Itoa(i) + ": value is not valid UTF-8")
					return
				}
				e.uvarint(codecVariantValue)
				e.str(string(v.Value))
			}
			e.uvarint(0)
		}
	}
	if f.Enabled {
		e.uvarint(codecFlagEnabled)
		e.buf = append(e.buf, 1)
	}
	e.fInt32(codecFlagDefaultVariant, f.DefaultVariant)
	e.fInt32(codecFlagOffVariant, f.OffVariant)
	if len(f.Rules) != 0 {
		e.uvarint(codecFlagRules)
		e.uvarint(uint64(len(f.Rules)))
		for i := range f.Rules {
			r := &f.Rules[i]
			e.fStr(codecRuleID, r.ID)
			e.fInt32(codecRuleWhen, r.When)
			if !codecServeZero(&r.Serve) {
				e.uvarint(codecRuleServe)
				e.serve(&r.Serve)
			}
			e.uvarint(0)
		}
	}
	if !codecServeZero(&f.Default) {
		e.uvarint(codecFlagDefault)
		e.serve(&f.Default)
	}
	e.fStr(codecFlagSalt, f.Salt)
	if len(f.Metadata) != 0 {
		e.uvarint(codecFlagMetadata)
		e.uvarint(uint64(len(f.Metadata)))
		for i := range f.Metadata {
			m := &f.Metadata[i]
			e.fStr(codecMetaKey, m.Key)
			if m.Value.Kind != ConstNull || codecConstHasFields(&m.Value) {
				e.uvarint(codecMetaValue)
				e.constv(&m.Value, true)
				if e.err != nil {
					e.err = codecWrap("metadata "+strconv.Quote(m.Key), e.err)
					return
				}
			}
			e.uvarint(0)
		}
	}
	e.uvarint(0)
}

func codecConstHasFields(c *Const) bool {
	return c.Bool || c.Num != 0 || math.Signbit(c.Num) || c.Str != "" || c.List != nil
}

func codecServeZero(s *Serve) bool {
	return s.Variant == 0 && len(s.Split) == 0 && s.BucketBy == 0
}

func (e *codecEncoder) serve(s *Serve) {
	e.fInt32(codecServeVariant, s.Variant)
	if len(s.Split) != 0 {
		e.uvarint(codecServeSplit)
		e.uvarint(uint64(len(s.Split)))
		for _, w := range s.Split {
			e.int32v(w.Variant)
			e.uvarint(uint64(w.Weight))
		}
	}
	e.fInt32(codecServeBucketBy, s.BucketBy)
	e.uvarint(0)
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

// Decode parses the canonical encoding produced by Encode. It accepts
// exactly the outputs of Encode: for any data it accepts,
// Encode(Decode(data)) returns data byte for byte. It never panics; input
// longer than lim.MaxBytes is rejected before any work, and every count is
// checked against lim and against the bytes remaining before anything is
// allocated. Errors wrap one of ErrTooLarge, ErrTruncated, ErrTrailingData,
// ErrUnknownField, ErrUnsupportedVersion or ErrMalformed.
//
// Decode does not call Validate. The returned Bundle's strings share one
// backing string, and Variant.Value slices share one backing array: treat
// them as read-only.
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
	aVariants []Variant
	aRules    []Rule
	aWeights  []Weight
	aMeta     []Meta
	aStrs     []string
	aConsts   []Const
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
	if u*uint64(minSize) > uint64(len(d.data)-d.pos) {
		d.pos = at
		d.fail(ErrTruncated, what+" count "+strconv.FormatUint(u, 10)+" exceeds the remaining input")
		return 0
	}
	*total += int(u)
	return int(u)
}

// tag reads the next field tag of a record; 0 ends the record (and is
// returned on error). Tags must ascend strictly and be at most maxTag.
func (d *decDecoder) tag(last *uint64, maxTag uint64) uint64 {
	var t uint64
	if p := d.pos; p < len(d.data) && d.data[p] < 0x80 {
		t = uint64(d.data[p])
		d.pos = p + 1
	} else {
		t = d.uvarintSlow()
	}
	if t > *last && t <= maxTag {
		*last = t
		return t
	}
	return d.tagSlow(t, last, maxTag)
}

func (d *decDecoder) tagSlow(t uint64, last *uint64, maxTag uint64) uint64 {
	if d.err != nil || t == 0 {
		return 0
	}
	if t <= *last {
		d.fail(ErrMalformed, "field tag "+strconv.FormatUint(t, 10)+" after tag "+strconv.FormatUint(*last, 10)+" (tags must strictly ascend)")
		return 0
	}
	if t > maxTag {
		d.fail(ErrUnknownField, "field tag "+strconv.FormatUint(t, 10))
		return 0
	}
	return 0
}

// strIndex reads a string table index and marks the entry used.
func (d *decDecoder) strIndex() int {
	var u uint64
	if p := d.pos; p < len(d.data) && d.data[p] < 0x80 {
		u = uint64(d.data[p])
		d.pos = p + 1
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

// decTake carves n elements from an arena, refilling it with a chunk sized
// by the remaining input (each element takes at least one byte).
func decTake[T any](d *decDecoder, arena *[]T, n int) []T {
	if n > len(*arena) {
		c := (len(d.data) - d.pos) / 8
		if c > 1024 {
			c = 1024
		}
		if c < n {
			c = n
		}
		*arena = make([]T, c)
	}
	s := (*arena)[:n:n]
	*arena = (*arena)[n:]
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
	for i := 0; i < n; i++ {
		s := d.big[d.off[i]:d.off[i+1]]
		if !utf8.ValidString(s) {
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
	var last uint64
	var dummy int
	for {
		switch d.tag(&last, codecBundleMaxTag) {
		case 0:
			if d.err != nil {
				return nil, d.err
			}
			if b.Audience == 0 {
				d.fail(ErrMalformed, "bundle has no audience")
				return nil, d.err
			}
			if d.pos != len(d.data) {
				d.fail(ErrTrailingData, strconv.Itoa(len(d.data)-d.pos)+" bytes after the end")
				return nil, d.err
			}
			for i := 0; i+1 < len(d.off); i++ {
				if d.used[i>>6]&(1<<(uint(i)&63)) == 0 {
					return nil, codecWrap("string table", &codecError{ctx: "string " + strconv.Itoa(i) + " is never referenced", err: ErrMalformed})
				}
			}
			return b, nil
		case codecBundleProject:
			b.Project = d.strField()
		case codecBundleEnvironment:
			b.Environment = d.strField()
		case codecBundleAudience:
			at := d.pos
			a := d.uvarint()
			if d.err == nil && a != uint64(AudienceServer) && a != uint64(AudienceClient) {
				d.pos = at
				d.fail(ErrMalformed, "unknown audience "+strconv.FormatUint(a, 10))
			}
			b.Audience = Audience(a)
		case codecBundleAttributes:
			n := d.count(d.lim.MaxAttributes, &dummy, 1, "attribute", true)
			if n > 0 {
				b.Attributes = make([]string, n)
				for i := range b.Attributes {
					b.Attributes[i] = d.str()
				}
			}
		case codecBundleConsts:
			n := d.count(d.lim.MaxConsts, &dummy, 1, "const", true)
			if n > 0 {
				b.Consts = make([]Const, n)
				for i := range b.Consts {
					d.constv(&b.Consts[i], true)
					if d.err != nil {
						return nil, codecWrap("const "+strconv.Itoa(i), d.err)
					}
				}
			}
		case codecBundleNodes:
			dummy = 0
			n := d.count(d.lim.MaxNodes, &dummy, 3, "node", true)
			if n > 0 {
				b.Nodes = make([]Node, n)
				for i := range b.Nodes {
					at := d.pos
					op := d.uvarint()
					if d.err == nil && op >= uint64(NumOps) {
						d.pos = at
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
		case codecBundleArgs:
			dummy = 0
			n := d.count(d.lim.MaxArgs, &dummy, 1, "arg", true)
			if n > 0 {
				b.Args = make([]int32, n)
				for i := range b.Args {
					b.Args[i] = d.int32v()
				}
			}
		case codecBundleSegments:
			dummy = 0
			n := d.count(d.lim.MaxSegments, &dummy, 1, "segment", true)
			if n > 0 {
				b.Segments = make([]Segment, n)
				for i := range b.Segments {
					d.segment(&b.Segments[i])
					if d.err != nil {
						return nil, codecWrap("segment "+strconv.Itoa(i), d.err)
					}
				}
			}
		case codecBundleFlags:
			dummy = 0
			n := d.count(d.lim.MaxFlags, &dummy, 1, "flag", true)
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
		dummy = 0
	}
}

// constv reads a constant; top is false for list elements.
func (d *decDecoder) constv(c *Const, top bool) {
	at := d.pos
	k := d.uvarint()
	if d.err != nil {
		return
	}
	c.Kind = ConstKind(k)
	switch ConstKind(k) {
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
	var last uint64
	for {
		switch d.tag(&last, codecSegMaxTag) {
		case 0:
			return
		case codecSegName:
			s.Name = d.strField()
		case codecSegWhen:
			s.When = d.nz32()
		case codecSegKeyAttr:
			s.KeyAttr = d.nz32()
		case codecSegKeys:
			n := d.count(d.lim.MaxKeys, &d.nKeys, 1, "key", true)
			if n > 0 {
				s.Keys = decTake(d, &d.aStrs, n)
				for i := range s.Keys {
					s.Keys[i] = d.str()
				}
			}
		case codecSegKeySalt:
			var dummy int
			n := d.count(d.lim.MaxStringLen, &dummy, 1, "key salt byte", true)
			if n > 0 {
				s.KeySalt = append([]byte(nil), d.data[d.pos:d.pos+n]...)
				d.pos += n
			}
		case codecSegKeyDigests:
			n := d.count(d.lim.MaxKeys, &d.nKeys, 32, "key digest", true)
			if n > 0 {
				s.KeyDigests = make([][32]byte, n)
				for i := range s.KeyDigests {
					copy(s.KeyDigests[i][:], d.data[d.pos:d.pos+32])
					d.pos += 32
				}
			}
		}
		if d.err != nil {
			return
		}
	}
}

func (d *decDecoder) flag(f *Flag) {
	var last uint64
	for {
		switch d.tag(&last, codecFlagMaxTag) {
		case 0:
			if d.err == nil && f.Type == 0 {
				d.fail(ErrMalformed, "flag has no type")
			}
			return
		case codecFlagKey:
			f.Key = d.strField()
		case codecFlagType:
			at := d.pos
			t := d.uvarint()
			if d.err == nil && (t < uint64(TypeBoolean) || t > uint64(TypeObject)) {
				d.pos = at
				d.fail(ErrMalformed, "unknown flag type "+strconv.FormatUint(t, 10))
			}
			f.Type = FlagType(t)
		case codecFlagVariants:
			n := d.count(d.lim.MaxVariants, &d.nVariants, 1, "variant", true)
			if n > 0 {
				f.Variants = decTake(d, &d.aVariants, n)
				for i := range f.Variants {
					d.variant(&f.Variants[i])
					if d.err != nil {
						d.err = codecWrap("variant "+strconv.Itoa(i), d.err)
						return
					}
				}
			}
		case codecFlagEnabled:
			if b := d.byte1(); d.err == nil && b != 1 {
				d.pos--
				d.fail(ErrMalformed, "enabled byte is not 1 (false is omitted)")
			}
			f.Enabled = true
		case codecFlagDefaultVariant:
			f.DefaultVariant = d.nz32()
		case codecFlagOffVariant:
			f.OffVariant = d.nz32()
		case codecFlagRules:
			n := d.count(d.lim.MaxRules, &d.nRules, 1, "rule", true)
			if n > 0 {
				f.Rules = decTake(d, &d.aRules, n)
				for i := range f.Rules {
					d.rule(&f.Rules[i])
					if d.err != nil {
						d.err = codecWrap("rule "+strconv.Itoa(i), d.err)
						return
					}
				}
			}
		case codecFlagDefault:
			d.serve(&f.Default)
			if d.err != nil {
				d.err = codecWrap("default", d.err)
				return
			}
		case codecFlagSalt:
			f.Salt = d.strField()
		case codecFlagMetadata:
			n := d.count(d.lim.MaxMeta, &d.nMeta, 1, "metadata", true)
			if n > 0 {
				f.Metadata = decTake(d, &d.aMeta, n)
				for i := range f.Metadata {
					d.meta(&f.Metadata[i])
					if d.err != nil {
						d.err = codecWrap("metadata "+strconv.Itoa(i), d.err)
						return
					}
				}
			}
		}
		if d.err != nil {
			return
		}
	}
}

func (d *decDecoder) variant(v *Variant) {
	var last uint64
	for {
		switch d.tag(&last, codecVariantMaxTag) {
		case 0:
			return
		case codecVariantName:
			v.Name = d.strField()
		case codecVariantValue:
			v.Value = d.bytesField()
		}
	}
}

func (d *decDecoder) rule(r *Rule) {
	var last uint64
	for {
		switch d.tag(&last, codecRuleMaxTag) {
		case 0:
			return
		case codecRuleID:
			r.ID = d.strField()
		case codecRuleWhen:
			r.When = d.nz32()
		case codecRuleServe:
			d.serve(&r.Serve)
			if d.err != nil {
				d.err = codecWrap("serve", d.err)
				return
			}
		}
	}
}

// serve reads a Serve record in a field; an empty record is the zero value,
// which is omitted, so it is rejected.
func (d *decDecoder) serve(s *Serve) {
	var last uint64
	at := d.pos
	for {
		switch d.tag(&last, codecServeMaxTag) {
		case 0:
			if d.err == nil && last == 0 {
				d.pos = at
				d.fail(ErrMalformed, "explicit empty serve (empty fields are omitted)")
			}
			return
		case codecServeVariant:
			s.Variant = d.nz32()
		case codecServeSplit:
			n := d.count(d.lim.MaxWeights, &d.nWeights, 2, "split arm", true)
			if n > 0 {
				s.Split = decTake(d, &d.aWeights, n)
				for i := range s.Split {
					w := &s.Split[i]
					w.Variant = d.int32v()
					at := d.pos
					u := d.uvarint()
					if u > math.MaxUint32 {
						d.pos = at
						d.fail(ErrMalformed, "weight overflows 32 bits")
					}
					w.Weight = uint32(u)
				}
			}
		case codecServeBucketBy:
			s.BucketBy = d.nz32()
		}
	}
}

func (d *decDecoder) meta(m *Meta) {
	var last uint64
	for {
		switch d.tag(&last, codecMetaMaxTag) {
		case 0:
			return
		case codecMetaKey:
			m.Key = d.strField()
		case codecMetaValue:
			at := d.pos
			d.constv(&m.Value, true)
			if d.err == nil && m.Value.Kind == ConstNull {
				d.pos = at
				d.fail(ErrMalformed, "explicit null value (null is omitted)")
			}
		}
	}
}
