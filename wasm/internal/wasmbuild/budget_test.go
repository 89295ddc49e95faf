package wasmbuild

import (
	"bytes"
	"os/exec"
	"testing"
)

// sizeBudgets are the download budgets of the modules people ship, in
// bytes of `gzip -9` output (docs/performance.md, "The two wasm builds"):
// the TinyGo module at most 200 KB, the standard-Go module at most 1.3 MB.
// The builds are reproducible, so a module over its budget is a change
// that made it so, not noise.
var sizeBudgets = map[string]int{
	"edgeflag.tiny.wasm": 200_000,
	"edgeflag.wasm":      1_300_000,
}

// TestSizeBudgets builds each budgeted module and compresses it as the
// budgets are stated (the gzip command at -9, not compress/gzip, whose
// output size differs).
func TestSizeBudgets(t *testing.T) {
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Fatalf("gzip, which states the budgets, is missing: %v", err)
	}
	for file, budget := range sizeBudgets {
		s, ok := Outputs[file]
		if !ok {
			t.Fatalf("%s has a budget but no build in Outputs", file)
		}
		wasm, err := Module(s)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(gz, "-9c")
		cmd.Stdin = bytes.NewReader(wasm)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gzip %s: %v", file, err)
		}
		t.Logf("%s: %d bytes, %d gzip -9 (budget %d, %d left)", file, len(wasm), len(out), budget, budget-len(out))
		if len(out) > budget {
			t.Errorf("%s is %d bytes gzip -9, over its budget of %d by %d: find what grew (tinygo build -size=full, go tool nm -size) before raising the budget", file, len(out), budget, len(out)-budget)
		}
	}
}
