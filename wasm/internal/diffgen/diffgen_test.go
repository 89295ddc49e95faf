package diffgen

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/conformance"
	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestFixture: the fixture is byte-stable for a seed, holds the results
// asked for, and is the sealed corpus' layout: every bundle verifies with
// the JWKS under the manifest's trust, its payload is the suite's bundle,
// and each suite has one native line per case, each a JSON object (one
// flag) or array (every flag), and no context holds -0.
func TestFixture(t *testing.T) {
	files, st, err := Fixture(3, 600)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Fixture(3, 600)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(files) {
		t.Fatalf("%d files, then %d", len(files), len(again))
	}
	for name, data := range files {
		if !bytes.Equal(again[name], data) {
			t.Errorf("%s differs between two runs of one seed", name)
		}
	}
	if st.Results < 600 || st.Configs == 0 || st.Cases == 0 {
		t.Fatalf("stats %+v", st)
	}
	var m conformance.SealedManifest
	if err := json.Unmarshal(files["sealed/manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	ks, err := envelope.ParseJWKS(files["sealed/"+m.JWKS])
	if err != nil {
		t.Fatal(err)
	}
	openAt, err := time.Parse(time.RFC3339, m.OpenAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Suites) != st.Configs || len(files) != 2+3*st.Configs {
		t.Fatalf("%d suites, %d files for %d configs", len(m.Suites), len(files), st.Configs)
	}
	cases, results := 0, 0
	for _, ss := range m.Suites {
		var s conformance.Suite
		if err := json.Unmarshal(files[ss.Suite], &s); err != nil {
			t.Fatalf("%s: %v", ss.Suite, err)
		}
		aud, _ := ir.ParseAudience(ss.Audience)
		v, err := envelope.Verify(files["sealed/"+ss.Bundle], envelope.Trust{Keys: ks, Project: ss.Project, Environment: ss.Environment, Audience: aud, Now: openAt})
		if err != nil {
			t.Fatalf("%s: %v", ss.Bundle, err)
		}
		if !bytes.Equal(v.Payload, s.Bundle) || v.Claims.Version != m.Version {
			t.Errorf("%s: payload is not %s's bundle or version %d", ss.Bundle, ss.Suite, v.Claims.Version)
		}
		lines := strings.Split(strings.TrimSuffix(string(files["sealed/"+ss.Native]), "\n"), "\n")
		if len(lines) != len(s.Cases) || ss.Cases != len(s.Cases) {
			t.Fatalf("%s: %d lines, manifest %d cases, suite %d", ss.Native, len(lines), ss.Cases, len(s.Cases))
		}
		for i, c := range s.Cases {
			if c.Expect != nil || c.ExpectAll != nil {
				t.Fatalf("%s: %s: carries an expectation", ss.Suite, c.Name)
			}
			if hasNegativeZero(map[string]any(c.Context)) {
				t.Errorf("%s: %s: context holds -0", ss.Suite, c.Name)
			}
			var rs []map[string]any
			if c.Kind == conformance.KindAll {
				err = json.Unmarshal([]byte(lines[i]), &rs)
			} else {
				rs = make([]map[string]any, 1)
				err = json.Unmarshal([]byte(lines[i]), &rs[0])
			}
			if err != nil {
				t.Fatalf("%s line %d: %v", ss.Native, i+1, err)
			}
			results += len(rs)
		}
		cases += len(s.Cases)
	}
	if cases != st.Cases || results != st.Results {
		t.Fatalf("%d cases, %d results; stats %+v", cases, results, st)
	}
}

func hasNegativeZero(v any) bool {
	switch x := v.(type) {
	case float64:
		return x == 0 && math.Signbit(x)
	case map[string]any:
		for _, e := range x {
			if hasNegativeZero(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNegativeZero(e) {
				return true
			}
		}
	}
	return false
}

// TestPositiveZero: -0 becomes 0 at any depth; nothing else changes.
func TestPositiveZero(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"a":-0,"b":[1,-0,{"c":-0}],"d":-1.5,"e":"-0"}`), &v); err != nil {
		t.Fatal(err)
	}
	if !hasNegativeZero(v) {
		t.Fatal("encoding/json read no -0")
	}
	got, err := json.Marshal(positiveZero(v))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":0,"b":[1,0,{"c":0}],"d":-1.5,"e":"-0"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestWriteFixture: a second write replaces the first whole and leaves
// no temporary directory.
func TestWriteFixture(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "diff")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stale.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := WriteFixture(dir, 5, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.json")); !os.IsNotExist(err) {
		t.Errorf("stale.json survived the write: %v", err)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("parent holds %d entries, want only diff", len(entries))
	}
	names, err := filepath.Glob(filepath.Join(dir, "sealed", "*.native.ndjson"))
	if err != nil || len(names) != st.Configs {
		t.Fatalf("%d native files for %d configs (%v)", len(names), st.Configs, err)
	}
	if _, _, err := Fixture(5, 0); err == nil {
		t.Error("Fixture with 0 results: no error")
	}
}
