package peers

// engine=goffcore: GO Feature Flag's evaluation module alone
// (modules/core): the flag file decoded into DTOs, converted to
// InternalFlag and validated as GOFF's cache manager does, then
// evaluation.Evaluate per flag — what its relay proxy and wasm evaluator
// run.
//
// engine=goff: GO Feature Flag's Go SDK (ffclient), reading the flag file
// with its file retriever; polling off, no exporter, no notifier.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ffclient "github.com/thomaspoignant/go-feature-flag"
	"github.com/thomaspoignant/go-feature-flag/modules/core/dto"
	"github.com/thomaspoignant/go-feature-flag/modules/core/evaluation"
	"github.com/thomaspoignant/go-feature-flag/modules/core/ffcontext"
	"github.com/thomaspoignant/go-feature-flag/modules/core/flag"
	"github.com/thomaspoignant/go-feature-flag/retriever/fileretriever"
	"gopkg.in/yaml.v3"
)

// goffCoreFlags is a decoded flag file; order is the decoding order.
type goffCoreFlags struct {
	byKey map[string]*flag.InternalFlag
	order []string
}

// parseGOFFCore decodes a flag file in format "json" or "yaml" with the
// decoders GOFF's cache manager uses, then converts and validates every
// flag.
func parseGOFFCore(doc []byte, format string) (*goffCoreFlags, error) {
	var dtos map[string]dto.DTO
	var err error
	switch format {
	case "json":
		err = json.Unmarshal(doc, &dtos)
	case "yaml":
		err = yaml.Unmarshal(doc, &dtos)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return nil, fmt.Errorf("parse goff flags: %w", err)
	}
	s := &goffCoreFlags{byKey: make(map[string]*flag.InternalFlag, len(dtos))}
	for key, d := range dtos {
		f := d.Convert()
		if err := f.IsValid(); err != nil {
			return nil, fmt.Errorf("parse goff flag %s: %w", key, err)
		}
		s.byKey[key] = &f
		s.order = append(s.order, key)
	}
	return s, nil
}

func goffContextOf(a Attrs) ffcontext.Context {
	key, _ := a["targetingKey"].(string)
	bld := ffcontext.NewEvaluationContextBuilder(key)
	for name, v := range a {
		if name != "targetingKey" {
			bld.AddCustom(name, v)
		}
	}
	return bld.Build()
}

// goffCoreEval evaluates one flag as GOFF's SDK and relay proxy call the
// engine. f is a pointer into the loaded set so that no call copies it.
func goffCoreEval[T any](f *flag.InternalFlag, key string, c ffcontext.Context, sdkDefault T, typ string) (T, error) {
	r, err := evaluation.Evaluate[T](f, key, c, flag.Context{DefaultSdkValue: sdkDefault}, typ, sdkDefault)
	return r.Value, err
}

type goffCoreEngine struct{ basic, bulk *goffCoreFlags }

// newGOFFCore loads BasicSet and bulk from YAML.
func newGOFFCore(tb testing.TB, bulkSet Set) peerEngine {
	basic, err := parseGOFFCore(GOFFYAML(BasicSet), "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	bulk, err := parseGOFFCore(GOFFYAML(bulkSet), "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return &goffCoreEngine{basic: basic, bulk: bulk}
}

func (*goffCoreEngine) label() string { return "goffcore" }

func (e *goffCoreEngine) boolValue(key string, a Attrs) bool {
	v, err := goffCoreEval(e.basic.byKey[key], key, goffContextOf(a), false, "bool")
	return err == nil && v
}

func (e *goffCoreEngine) stringValue(key string, a Attrs) string {
	v, err := goffCoreEval(e.basic.byKey[key], key, goffContextOf(a), "", "string")
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

func (e *goffCoreEngine) all(a Attrs) map[string]any {
	return goffCoreAll(e.bulk, goffContextOf(a))
}

// goffCoreAll evaluates every flag into a fresh map of values.
func goffCoreAll(s *goffCoreFlags, c ffcontext.Context) map[string]any {
	out := make(map[string]any, len(s.order))
	for _, k := range s.order {
		v, _ := s.byKey[k].Value(k, c, flag.Context{})
		out[k] = v
	}
	return out
}

func (e *goffCoreEngine) benchF1(b *testing.B) {
	f, c := e.basic.byKey["f1"], goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, err := goffCoreEval(f, "f1", c, false, "bool"); err != nil || !v {
			b.Fatalf("f1 = %v (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *goffCoreEngine) benchF2(b *testing.B) {
	f, c := e.basic.byKey["f2"], goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, err := goffCoreEval(f, "f2", c, "", "string"); err != nil || v != "senior" {
			b.Fatalf("f2 = %q (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *goffCoreEngine) benchF3(b *testing.B) {
	f, c := e.basic.byKey["f3"], goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if _, err := goffCoreEval(f, "f3", c, false, "bool"); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

func (e *goffCoreEngine) benchAll(b *testing.B) {
	c := goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if res := goffCoreAll(e.bulk, c); len(res) != BulkSet.Copies || res["f2_042"] != "senior" {
			b.Fatal("the bulk results are wrong")
		}
	}
	cpu.report(b)
}

// benchGOFFCoreLoad is Load's engine=goffcore-FORMAT.
func benchGOFFCoreLoad(format string) func(*testing.B, []byte, int) {
	return func(b *testing.B, doc []byte, n int) {
		cpu := startCPU()
		for b.Loop() {
			s, err := parseGOFFCore(doc, format)
			if err != nil {
				b.Fatal(err)
			}
			if len(s.byKey) != n {
				b.Fatalf("loaded %d flags of %d", len(s.byKey), n)
			}
		}
		cpu.report(b)
	}
}

// writeFlagFile writes doc where GOFF's file retriever will read it.
func writeFlagFile(tb testing.TB, doc []byte, format string) string {
	p := filepath.Join(tb.TempDir(), "flags."+format)
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// startGOFF starts the SDK on a flag file: it reads, decodes, converts
// and caches the flags before returning.
func startGOFF(path, format string) (*ffclient.GoFeatureFlag, error) {
	return ffclient.New(ffclient.Config{
		PollingInterval:       -1, // no background refresh after the first load
		Retriever:             &fileretriever.Retriever{Path: path},
		FileFormat:            format,
		DisableNotifierOnInit: true,
	})
}

type goffEngine struct{ basic, bulk *ffclient.GoFeatureFlag }

// newGOFF starts two SDK clients, on BasicSet and on bulk, from YAML files.
func newGOFF(tb testing.TB, bulkSet Set) peerEngine {
	e := &goffEngine{}
	for _, c := range []struct {
		to  **ffclient.GoFeatureFlag
		set Set
	}{{&e.basic, BasicSet}, {&e.bulk, bulkSet}} {
		cl, err := startGOFF(writeFlagFile(tb, GOFFYAML(c.set), "yaml"), "yaml")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(cl.Close)
		*c.to = cl
	}
	return e
}

func (*goffEngine) label() string { return "goff" }

func (e *goffEngine) boolValue(key string, a Attrs) bool {
	v, err := e.basic.BoolVariation(key, goffContextOf(a), false)
	return err == nil && v
}

func (e *goffEngine) stringValue(key string, a Attrs) string {
	v, err := e.basic.StringVariation(key, goffContextOf(a), "")
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

func (e *goffEngine) all(a Attrs) map[string]any {
	st := e.bulk.AllFlagsState(goffContextOf(a))
	out := map[string]any{}
	if !st.IsValid() {
		out["error"] = "invalid all-flags state"
	}
	for k, s := range st.GetFlags() {
		out[k] = s.Value
	}
	return out
}

func (e *goffEngine) benchF1(b *testing.B) {
	c := goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, err := e.basic.BoolVariation("f1", c, false); err != nil || !v {
			b.Fatalf("f1 = %v (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *goffEngine) benchF2(b *testing.B) {
	c := goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if v, err := e.basic.StringVariation("f2", c, ""); err != nil || v != "senior" {
			b.Fatalf("f2 = %q (%v)", v, err)
		}
	}
	cpu.report(b)
}

func (e *goffEngine) benchF3(b *testing.B) {
	c := goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if _, err := e.basic.BoolVariation("f3", c, false); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

func (e *goffEngine) benchAll(b *testing.B) {
	c := goffContextOf(PeerContext())
	cpu := startCPU()
	for b.Loop() {
		if st := e.bulk.AllFlagsState(c); len(st.GetFlags()) != BulkSet.Copies {
			b.Fatalf("%d results", len(st.GetFlags()))
		}
	}
	cpu.report(b)
}

// benchGOFFLoad is Load's engine=goff-FORMAT: the SDK's start-up on a
// file of n flags (read, decode, convert, cache). Closing the client is
// not timed.
func benchGOFFLoad(format string) func(*testing.B, []byte, int) {
	return func(b *testing.B, doc []byte, n int) {
		p := writeFlagFile(b, doc, format)
		cpu := startCPU()
		for i := 0; i < b.N; i++ {
			cl, err := startGOFF(p, format)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu.stop()
			if flags, err := cl.GetFlagsFromCache(); err != nil || len(flags) != n {
				b.Fatalf("loaded %d flags of %d (%v)", len(flags), n, err)
			}
			cl.Close()
			cpu.start()
			b.StartTimer()
		}
		cpu.report(b)
	}
}
