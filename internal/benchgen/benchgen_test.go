package benchgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// TestRealisticDeterministic checks that a set is the same every time and
// that flag i does not depend on n: the flags of a smaller set are a
// prefix of a larger one's (so 1k and 10k benchmarks share their flags).
func TestRealisticDeterministic(t *testing.T) {
	a, b := Realistic(300), Realistic(300)
	if !bytes.Equal(a.YAML, b.YAML) {
		t.Fatal("two Realistic(300) differ")
	}
	small, big := Realistic(120), Realistic(300)
	if !bytes.HasPrefix(big.YAML, small.YAML) {
		t.Fatal("Realistic(120) is not a prefix of Realistic(300)")
	}
	if len(small.Probes) == 0 || small.Probes[0].Flag != big.Probes[0].Flag {
		t.Fatalf("probes differ: %v vs %v", small.Probes[:1], big.Probes[:1])
	}
}

// TestSetsCompile checks that both sets compile for both audiences with
// the flag counts their documentation promises.
func TestSetsCompile(t *testing.T) {
	const n = 300
	if got := len(Compile(t, Realistic(n).YAML, ir.AudienceServer).Flags); got != n {
		t.Errorf("realistic server bundle: %d flags, want %d", got, n)
	}
	client := len(Compile(t, Realistic(n).YAML, ir.AudienceClient).Flags)
	if client < n/5 || client > n/2 {
		t.Errorf("realistic client bundle: %d flags of %d, want about 30%%", client, n)
	}
	if got := len(Compile(t, Peer(true, 7, "f2_%03d", true), ir.AudienceClient).Flags); got != 10 {
		t.Errorf("peer client bundle: %d flags, want 10", got)
	}
	if _, b := RealisticBundle(t, 50, ir.AudienceServer); len(b.Flags) != 50 {
		t.Errorf("RealisticBundle(50): %d flags", len(b.Flags))
	}
}

// TestWriteDir checks that WriteDir writes a directory the publisher
// loads, and refuses a count that is not positive.
func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDir(dir, 40); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "flags.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(Compile(t, data, ir.AudienceServer).Flags); got != 40 {
		t.Errorf("%d flags, want 40", got)
	}
	if err := WriteDir(dir, 0); err == nil {
		t.Error("WriteDir(dir, 0) succeeded")
	}
}
