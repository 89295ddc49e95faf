package ir

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

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

// strBytes is str for a byte string (a variant value), without
// converting it to a string except when it is first seen.
func (e *codecEncoder) strBytes(b []byte) {
	if e.collect {
		if _, ok := e.strs[string(b)]; !ok {
			e.strs[string(b)] = 0 // UTF-8 was checked by the caller
		}
		e.buf = append(e.buf, 0)
		return
	}
	e.uvarint(uint64(e.strs[string(b)]))
}

func (e *codecEncoder) strList(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *codecEncoder) bundle(b *Bundle) {
	if b.Audience != AudienceServer && b.Audience != AudienceClient {
		e.fail("unknown audience " + strconv.Itoa(int(b.Audience)))
		return
	}
	m := codecIf(b.Project != "", codecBundleProject) |
		codecIf(b.Environment != "", codecBundleEnvironment) |
		codecBundleAudience |
		codecIf(len(b.Attributes) != 0, codecBundleAttributes) |
		codecIf(len(b.Consts) != 0, codecBundleConsts) |
		codecIf(len(b.Nodes) != 0, codecBundleNodes) |
		codecIf(len(b.Args) != 0, codecBundleArgs) |
		codecIf(len(b.Segments) != 0, codecBundleSegments) |
		codecIf(len(b.Flags) != 0, codecBundleFlags)
	e.uvarint(m)
	if m&codecBundleProject != 0 {
		e.str(b.Project)
	}
	if m&codecBundleEnvironment != 0 {
		e.str(b.Environment)
	}
	e.uvarint(uint64(b.Audience))
	if m&codecBundleAttributes != 0 {
		e.strList(b.Attributes)
	}
	if e.err != nil {
		return
	}
	if m&codecBundleConsts != 0 {
		e.uvarint(uint64(len(b.Consts)))
		for i := range b.Consts {
			e.constv(&b.Consts[i], true)
			if e.err != nil {
				e.err = codecWrap("const "+strconv.Itoa(i), e.err)
				return
			}
		}
	}
	if m&codecBundleNodes != 0 {
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
	if m&codecBundleArgs != 0 {
		e.uvarint(uint64(len(b.Args)))
		for _, a := range b.Args {
			e.int32v(a)
		}
	}
	if m&codecBundleSegments != 0 {
		e.uvarint(uint64(len(b.Segments)))
		for i := range b.Segments {
			e.segment(&b.Segments[i])
			if e.err != nil {
				e.err = codecWrap("segment "+strconv.Itoa(i)+" "+strconv.Quote(b.Segments[i].Name), e.err)
				return
			}
		}
	}
	if m&codecBundleFlags != 0 {
		e.uvarint(uint64(len(b.Flags)))
		for i := range b.Flags {
			e.flag(&b.Flags[i])
			if e.err != nil {
				e.err = codecWrap("flag "+strconv.Itoa(i)+" "+strconv.Quote(b.Flags[i].Key), e.err)
				return
			}
		}
	}
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
	m := codecIf(s.Name != "", codecSegName) |
		codecIf(s.When != 0, codecSegWhen) |
		codecIf(s.KeyAttr != 0, codecSegKeyAttr) |
		codecIf(len(s.Keys) != 0, codecSegKeys) |
		codecIf(len(s.KeySalt) != 0, codecSegKeySalt) |
		codecIf(len(s.KeyDigests) != 0, codecSegKeyDigests)
	e.uvarint(m)
	if m&codecSegName != 0 {
		e.str(s.Name)
	}
	if m&codecSegWhen != 0 {
		e.int32v(s.When)
	}
	if m&codecSegKeyAttr != 0 {
		e.int32v(s.KeyAttr)
	}
	if m&codecSegKeys != 0 {
		e.strList(s.Keys)
	}
	if m&codecSegKeySalt != 0 {
		e.uvarint(uint64(len(s.KeySalt)))
		e.buf = append(e.buf, s.KeySalt...)
	}
	if m&codecSegKeyDigests != 0 {
		e.uvarint(uint64(len(s.KeyDigests)))
		for i := range s.KeyDigests {
			e.buf = append(e.buf, s.KeyDigests[i][:]...)
		}
	}
}

func (e *codecEncoder) flag(f *Flag) {
	if f.Type < TypeBoolean || f.Type > TypeObject {
		e.fail("unknown flag type " + strconv.Itoa(int(f.Type)))
		return
	}
	m := codecIf(f.Key != "", codecFlagKey) |
		codecFlagType |
		codecIf(len(f.Variants) != 0, codecFlagVariants) |
		codecIf(f.Enabled, codecFlagEnabled) |
		codecIf(f.DefaultVariant != 0, codecFlagDefaultVariant) |
		codecIf(f.OffVariant != 0, codecFlagOffVariant) |
		codecIf(len(f.Rules) != 0, codecFlagRules) |
		codecIf(!codecServeZero(&f.Default), codecFlagDefault) |
		codecIf(f.Salt != "", codecFlagSalt) |
		codecIf(len(f.Metadata) != 0, codecFlagMetadata)
	e.uvarint(m)
	if m&codecFlagKey != 0 {
		e.str(f.Key)
	}
	e.uvarint(uint64(f.Type))
	if m&codecFlagVariants != 0 {
		e.uvarint(uint64(len(f.Variants)))
		for i := range f.Variants {
			v := &f.Variants[i]
			if e.collect && !utf8.Valid(v.Value) {
				e.fail("variant " + strconv.Itoa(i) + ": value is not valid UTF-8")
				return
			}
			vm := codecIf(v.Name != "", codecVariantName) | codecIf(len(v.Value) != 0, codecVariantValue)
			e.uvarint(vm)
			if vm&codecVariantName != 0 {
				e.str(v.Name)
			}
			if vm&codecVariantValue != 0 {
				e.strBytes(v.Value)
			}
		}
	}
	if m&codecFlagEnabled != 0 {
		e.buf = append(e.buf, 1)
	}
	if m&codecFlagDefaultVariant != 0 {
		e.int32v(f.DefaultVariant)
	}
	if m&codecFlagOffVariant != 0 {
		e.int32v(f.OffVariant)
	}
	if m&codecFlagRules != 0 {
		e.uvarint(uint64(len(f.Rules)))
		for i := range f.Rules {
			r := &f.Rules[i]
			rm := codecIf(r.ID != "", codecRuleID) | codecIf(r.When != 0, codecRuleWhen) |
				codecIf(!codecServeZero(&r.Serve), codecRuleServe)
			e.uvarint(rm)
			if rm&codecRuleID != 0 {
				e.str(r.ID)
			}
			if rm&codecRuleWhen != 0 {
				e.int32v(r.When)
			}
			if rm&codecRuleServe != 0 {
				e.serve(&r.Serve)
			}
		}
	}
	if m&codecFlagDefault != 0 {
		e.serve(&f.Default)
	}
	if m&codecFlagSalt != 0 {
		e.str(f.Salt)
	}
	if m&codecFlagMetadata != 0 {
		e.uvarint(uint64(len(f.Metadata)))
		for i := range f.Metadata {
			md := &f.Metadata[i]
			hasValue := md.Value.Kind != ConstNull || codecConstHasFields(&md.Value)
			e.uvarint(codecIf(md.Key != "", codecMetaKey) | codecIf(hasValue, codecMetaValue))
			if md.Key != "" {
				e.str(md.Key)
			}
			if hasValue {
				e.constv(&md.Value, true)
				if e.err != nil {
					e.err = codecWrap("metadata "+strconv.Quote(md.Key), e.err)
					return
				}
			}
		}
	}
}

func codecConstHasFields(c *Const) bool {
	return c.Bool || c.Num != 0 || math.Signbit(c.Num) || c.Str != "" || c.List != nil
}

func codecServeZero(s *Serve) bool {
	return s.Variant == 0 && len(s.Split) == 0 && s.BucketBy == 0
}

func (e *codecEncoder) serve(s *Serve) {
	m := codecIf(s.Variant != 0, codecServeVariant) | codecIf(len(s.Split) != 0, codecServeSplit) |
		codecIf(s.BucketBy != 0, codecServeBucketBy)
	e.uvarint(m)
	if m&codecServeVariant != 0 {
		e.int32v(s.Variant)
	}
	if m&codecServeSplit != 0 {
		e.uvarint(uint64(len(s.Split)))
		for _, w := range s.Split {
			e.int32v(w.Variant)
			e.uvarint(uint64(w.Weight))
		}
	}
	if m&codecServeBucketBy != 0 {
		e.int32v(s.BucketBy)
	}
}
