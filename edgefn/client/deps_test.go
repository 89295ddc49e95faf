package client_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoAWSDependency: the offline client, its gomobile API and its
// OpenFeature provider build from the standard library, the verifier and
// engine (with the zstd decoder), the strict JSON scanner
// (internal/jsonscan), the shared last-known-good files and —
// for the provider — the OpenFeature SDK. Nothing from AWS, the publisher
// (go-jose, cel-go) or the rest of edgefn.
func TestNoAWSDependency(t *testing.T) {
	allowed := []string{
		"github.com/edgeflag/edgeflag/bundle/",
		"github.com/edgeflag/edgeflag/internal/safefile",
		"github.com/edgeflag/edgeflag/internal/jsonscan",
		"github.com/edgeflag/edgeflag/edgefn/internal/lkg",
		"github.com/edgeflag/edgeflag/edgefn/reqjson",
		"github.com/edgeflag/edgeflag/edgefn/client",
		"github.com/klauspost/compress",
	}
	for pkg, extra := range map[string][]string{
		".":            nil,
		"./mobile":     nil,
		"./ofprovider": {"github.com/open-feature/go-sdk/openfeature"},
	} {
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //lint:ignore SA1019 the test runs where it was built
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "github.com/aws/") {
				t.Errorf("%s depends on %s (AWS)", pkg, d)
				continue
			}
			ok := false
			for _, a := range append(allowed, extra...) {
				ok = ok || strings.HasPrefix(d, a)
			}
			if !ok {
				t.Errorf("%s depends on %s, outside its allowed set", pkg, d)
			}
		}
	}
}
