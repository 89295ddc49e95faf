package eval

import (
	"bytes"
	"crypto/sha256"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// fuzzGen turns fuzz bytes into choices.
type fuzzGen struct {
	data []byte
	i    int
}

func (g *fuzzGen) byte() byte {
	if g.i >= len(g.data) {
		return 0
	}
	g.i++
	return g.data[g.i-1]
}

func (g *fuzzGen) n(max int) int { return int(g.byte()) % max }

var fuzzAttrs = []string{"targetingKey", "email", "plan", "age", "user.plan", "user.deep.x", "list", "t"}
var fuzzStrs = []string{"", "pro", "@example.com", "US", "v1.2.3", "2026-01-01T00:00:00Z", "héllo", "a.b", ".*", "1.0.0-rc.1"}

// genBundle builds a bundle through ir.Builder, sometimes with invalid
// indices, so that Validate is exercised as well as the engine.
func genBundle(g *fuzzGen) *ir.Bundle {
	b := ir.NewBuilder("fz", "env", ir.Audience(1+g.n(2)))
	var bools, vals []int32
	nseg, nflag := g.n(3), 1+g.n(4)
	invalid := func() (int32, bool) {
		if g.n(48) == 0 {
			return int32(g.n(40)) - 2, true // often invalid
		}
		return 0, false
	}
	pickVal := func() int32 {
		if x, ok := invalid(); ok {
			return x
		}
		if len(vals) == 0 {
			return b.AttrNode("plan")
		}
		return vals[g.n(len(vals))]
	}
	pickBool := func() int32 {
		if x, ok := invalid(); ok {
			return x
		}
		if len(bools) == 0 {
			return b.Node(ir.OpHas, b.Attr("plan"), 0)
		}
		return bools[g.n(len(bools))]
	}
	// ref picks a segment or flag index, rarely out of range.
	ref := func(n int) int32 {
		if n == 0 || g.n(32) == 0 {
			return int32(n)
		}
		return int32(g.n(n))
	}
	for k := g.n(24); k >= 0; k-- {
		switch c := g.n(12); c {
		case 0:
			vals = append(vals, b.AttrNode(fuzzAttrs[g.n(len(fuzzAttrs))]))
		case 1:
			vals = append(vals, b.Str(fuzzStrs[g.n(len(fuzzStrs))]))
		case 2:
			vals = append(vals, b.Num(float64(int(g.byte())-100)/4))
		case 3:
			vals = append(vals, b.Bool(g.n(2) == 0))
		case 4:
			l := []ir.Const{{Kind: ir.ConstString, Str: fuzzStrs[g.n(len(fuzzStrs))]}, {Kind: ir.ConstNum, Num: float64(g.n(50))}}
			vals = append(vals, b.Node(ir.OpConst, b.Const(ir.Const{Kind: ir.ConstList, List: l[:1+g.n(2)]}), 0))
		case 5:
			vals = append(vals, b.List([]int32{pickVal(), pickVal()}))
		case 6:
			op := []ir.Op{ir.OpSize, ir.OpSemver, ir.OpTimestamp, ir.OpNow}[g.n(4)]
			vals = append(vals, b.Node(op, pickVal(), 0))
		case 7:
			vals = append(vals, b.Node(ir.OpVariant, ref(nflag), 0))
		case 8:
			op := ir.Op(int(ir.OpEq) + g.n(int(ir.OpContains-ir.OpEq)+1))
			bools = append(bools, b.Node(op, pickVal(), pickVal()))
		case 9:
			op := []ir.Op{ir.OpAnd, ir.OpOr, ir.OpNot}[g.n(3)]
			bools = append(bools, b.Node(op, pickBool(), pickBool()))
		case 10:
			switch g.n(4) {
			case 0:
				bools = append(bools, b.Node(ir.OpHas, b.Attr(fuzzAttrs[g.n(len(fuzzAttrs))]), 0))
			case 1:
				bools = append(bools, b.Node(ir.OpInSegment, ref(nseg), 0))
			case 2:
				bools = append(bools, b.Node(ir.OpMatches, pickVal(), b.Const(ir.Const{Kind: ir.ConstString, Str: fuzzStrs[g.n(len(fuzzStrs))]})))
			default:
				bools = append(bools, b.Node(ir.OpBool, pickVal(), 0))
			}
		default:
			if g.n(4) == 0 { // a raw node, usually invalid
				b.Node(ir.Op(g.n(ir.NumOps+2)), int32(g.n(30))-1, int32(g.n(30))-1)
			} else {
				bools = append(bools, b.Node(ir.OpBool, pickVal(), 0))
			}
		}
	}
	for s := 0; s < nseg; s++ {
		seg := ir.Segment{Name: "s" + strconv.Itoa(s), When: ir.NoNode, KeyAttr: ir.NoNode}
		if g.n(2) == 0 {
			seg.When = pickBool()
		}
		if g.n(2) == 0 {
			seg.KeyAttr = b.Attr(fuzzAttrs[g.n(2)])
			if b.Bundle.Audience == ir.AudienceServer {
				seg.Keys = []string{"1", "user-1"}
			} else {
				seg.KeySalt = []byte{g.byte()}
				for _, k := range []string{"1", "user-1"} {
					seg.KeyDigests = append(seg.KeyDigests, sha256.Sum256(append(append([]byte(nil), seg.KeySalt...), k...)))
				}
				slices.SortFunc(seg.KeyDigests, func(x, y [32]byte) int { return bytes.Compare(x[:], y[:]) })
			}
		}
		b.Bundle.Segments = append(b.Bundle.Segments, seg)
	}
	for f := 0; f < nflag; f++ {
		typ := ir.FlagType(1 + g.n(4))
		values := map[ir.FlagType][2]string{
			ir.TypeBoolean: {"false", "true"}, ir.TypeString: {`"a"`, `"b\u00e9"`},
			ir.TypeNumber: {"1.5", "-2e3"}, ir.TypeObject: {`{"k":[1,null]}`, `[]`},
		}[typ]
		fl := ir.Flag{Key: "f" + strconv.Itoa(f), Type: typ, Enabled: g.n(4) != 0, Salt: "s",
			Variants:       []ir.Variant{{Name: "a", Value: []byte(values[0])}, {Name: "b", Value: []byte(values[1])}},
			DefaultVariant: int32(g.n(17) / 8), OffVariant: int32(g.n(2)),
		}
		serve := func() ir.Serve {
			if g.n(2) == 0 {
				return ir.Serve{Variant: int32(g.n(2)), BucketBy: ir.NoNode}
			}
			return ir.Serve{Variant: ir.NoNode, BucketBy: b.Attr(fuzzAttrs[g.n(len(fuzzAttrs))]),
				Split: []ir.Weight{{Variant: 0, Weight: uint32(g.n(3))}, {Variant: 1, Weight: uint32(g.byte())}}}
		}
		for r := g.n(3); r > 0; r-- {
			fl.Rules = append(fl.Rules, ir.Rule{ID: "r" + strconv.Itoa(r), When: pickBool(), Serve: serve()})
		}
		fl.Default = serve()
		b.Bundle.Flags = append(b.Bundle.Flags, fl)
	}
	return b.Bundle
}

func genValue(g *fuzzGen, depth int) any {
	switch g.n(14) {
	case 0:
		return nil
	case 1:
		return fuzzStrs[g.n(len(fuzzStrs))]
	case 2:
		return float64(int(g.byte()) - 100)
	case 3:
		return math.NaN()
	case 4:
		return math.Inf(1 - 2*g.n(2))
	case 5:
		return g.n(2) == 0
	case 6:
		return int64(g.byte()) << 50
	case 7:
		return []string{"pro", "US"}
	case 8:
		if depth > 2 {
			return nil
		}
		return []any{genValue(g, depth+1), genValue(g, depth+1)}
	case 9:
		if depth > 2 {
			return nil
		}
		return map[string]any{"plan": genValue(g, depth+1), "deep": map[string]any{"x": genValue(g, depth+1)}}
	case 10:
		return map[string]string{"plan": "pro"}
	case 11:
		return struct{ A int }{1}
	case 12:
		return make([]any, 5000)
	}
	return uint8(g.byte())
}

func FuzzLoadEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"))
	f.Add([]byte{0, 1, 8, 0, 0, 1, 2, 9, 0, 1, 2, 3, 1, 1, 0, 10, 1, 2, 3, 1})
	f.Add([]byte{2, 3, 20, 0, 3, 7, 1, 8, 2, 0, 1, 10, 1, 1, 9, 0, 1, 2, 0, 1, 5, 1, 0})
	f.Add([]byte("segments and prerequisites: variant() inSegment() semver timestamp matches"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &fuzzGen{data: data}
		bundle := genBundle(g)
		if err := bundle.Validate(); err != nil {
			return
		}
		e, err := Load(bundle, 1)
		data, encErr := ir.Encode(bundle)
		var fromEncoding *Engine
		if encErr == nil {
			var err2 error
			fromEncoding, err2 = LoadEncoded(data, ir.Limits{}, 1)
			if (err == nil) != (err2 == nil) {
				t.Fatalf("Load: %v; LoadEncoded: %v", err, err2)
			}
		}
		if err != nil {
			return // e.g. an invalid regex
		}
		scribble(bundle) // the engine must not depend on it any more
		for c := 0; c < 3; c++ {
			ctx := Context{}
			for _, a := range fuzzAttrs {
				if g.n(3) != 0 {
					ctx[a] = genValue(g, 0)
				}
			}
			if g.n(2) == 0 {
				ctx["user"] = genValue(g, 0)
			}
			now := time.Unix(int64(g.byte())<<24, 0)
			all := e.EvaluateAll(ctx, now, nil)
			for i, k := range e.Keys() {
				r := e.Evaluate(k, ctx, now)
				if r.Variant != all[i].Variant || r.Reason != all[i].Reason {
					t.Fatalf("Evaluate and EvaluateAll disagree on %s: %+v vs %+v", k, r, all[i])
				}
				if r.Variant == "" || r.Reason == ReasonError {
					t.Fatalf("bad result %+v", r)
				}
			}
			if fromEncoding != nil {
				if enc := fromEncoding.EvaluateAll(ctx, now, nil); !reflect.DeepEqual(enc, all) {
					t.Fatalf("LoadEncoded and Load disagree:\n%+v\n%+v", enc, all)
				}
			}
		}
	})
}

// scribble overwrites everything a loaded engine could have kept a
// reference to in b.
func scribble(b *ir.Bundle) {
	for i := range b.Args {
		b.Args[i] = -7
	}
	for i := range b.Segments {
		s := &b.Segments[i]
		for k := range s.Keys {
			s.Keys[k] = "scribbled"
		}
		for k := range s.KeySalt {
			s.KeySalt[k] ^= 0xff
		}
		for k := range s.KeyDigests {
			s.KeyDigests[k][0] ^= 0xff
		}
	}
	for i := range b.Flags {
		f := &b.Flags[i]
		for k := range f.Variants {
			f.Variants[k].Name = "scribbled"
			for j := range f.Variants[k].Value {
				f.Variants[k].Value[j] = 'x'
			}
		}
		for k := range f.Rules {
			f.Rules[k].ID = "scribbled"
			for j := range f.Rules[k].Serve.Split {
				f.Rules[k].Serve.Split[j].Weight = 0
			}
		}
		for j := range f.Default.Split {
			f.Default.Split[j].Weight = 0
		}
		for k := range f.Metadata {
			f.Metadata[k].Key = "scribbled"
		}
	}
}

// TestFuzzGeneratorReachesEngine makes sure the fuzz generator produces valid
// bundles (otherwise the fuzzer would only exercise Validate).
func TestFuzzGeneratorReachesEngine(t *testing.T) {
	valid := 0
	for seed := 0; seed < 2000; seed++ {
		data := make([]byte, 64)
		x := uint32(seed*2654435761 + 1)
		for i := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[i] = byte(x)
		}
		if genBundle(&fuzzGen{data: data}).Validate() == nil {
			valid++
		}
	}
	t.Logf("%d of 2000 generated bundles are valid", valid)
	if valid < 200 {
		t.Fatalf("only %d of 2000 generated bundles are valid", valid)
	}
}
