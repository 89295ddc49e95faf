package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

var update = flag.Bool("update", false, "rewrite each corpus file's bundle and bundleSha256 from its config (never the expectations)")

const corpusDir = "testdata"

// buildBundle compiles a suite's config the way the publisher does:
// config.Parse, compile.Build for the suite's environment and audience,
// ir.Encode.
func buildBundle(s *Suite) ([]byte, error) {
	doc, ds := config.Parse([]config.File{{Name: s.Path + "#config", Data: s.Config}})
	if ds.HasErrors() {
		return nil, fmt.Errorf("parse config: %w", ds.Errors())
	}
	aud := ir.AudienceServer
	if s.Audience == "client" {
		aud = ir.AudienceClient
	}
	b, ds := compile.Build(doc, s.Environment, aud)
	if ds.HasErrors() {
		return nil, fmt.Errorf("build bundle: %w", ds.Errors())
	}
	data, err := ir.Encode(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return data, nil
}

// The two top-level fields -update rewrites; everything else in a corpus
// file (the expectations above all) is left byte for byte as written.
var (
	bundleField = regexp.MustCompile(`(?m)^  "bundle": "[^"]*"`)
	digestField = regexp.MustCompile(`(?m)^  "bundleSha256": "[^"]*"`)
)

func rewriteBundle(data, bundle []byte) ([]byte, error) {
	if n := len(bundleField.FindAllIndex(data, -1)); n != 1 {
		return nil, fmt.Errorf("rewrite bundle: found %d top-level \"bundle\" lines, want 1", n)
	}
	if n := len(digestField.FindAllIndex(data, -1)); n != 1 {
		return nil, fmt.Errorf("rewrite bundle: found %d top-level \"bundleSha256\" lines, want 1", n)
	}
	sum := sha256.Sum256(bundle)
	data = bundleField.ReplaceAllLiteral(data, []byte(`  "bundle": "`+base64.StdEncoding.EncodeToString(bundle)+`"`))
	data = digestField.ReplaceAllLiteral(data, []byte(`  "bundleSha256": "`+hex.EncodeToString(sum[:])+`"`))
	return data, nil
}

func loadCorpus(t *testing.T) []*Suite {
	t.Helper()
	if *update {
		names, err := os.ReadDir(corpusDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !strings.HasSuffix(n.Name(), ".json") {
				continue
			}
			p := corpusDir + "/" + n.Name()
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var s Suite
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			s.Path = p
			b, err := buildBundle(&s)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			out, err := rewriteBundle(data, b)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !bytes.Equal(out, data) {
				if err := os.WriteFile(p, out, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("updated %s", p)
			}
		}
	}
	suites, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	return suites
}

// TestBundlesReproduce: compiling each file's config reproduces its stored
// bundle byte for byte (the corpus doubles as a compiler golden file).
func TestBundlesReproduce(t *testing.T) {
	for _, s := range loadCorpus(t) {
		b, err := buildBundle(s)
		if err != nil {
			t.Errorf("%s: %v", s.Path, err)
			continue
		}
		if !bytes.Equal(b, s.Bundle) {
			t.Errorf("%s: compiling config gives a %d-byte bundle (sha256 %x) that differs from the stored %d-byte one (%s); review the compiler change, then go test ./bundle/conformance -update",
				s.Path, len(b), sha256.Sum256(b), len(s.Bundle), s.BundleSHA256)
		}
	}
}

// TestNative runs every case through ir.Decode + eval.Load on the stored
// bundle bytes.
func TestNative(t *testing.T) {
	suites := loadCorpus(t)
	for _, f := range Run(suites, &Native{}) {
		t.Error(f.Error())
	}
}
