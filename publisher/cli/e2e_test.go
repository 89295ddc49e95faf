package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds the real edgeflag binary and runs keygen, build and
// eval through os/exec, checking exit codes and output as a user sees them.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgeflag")
	build := exec.Command("go", "build", "-o", bin, "../cmd/edgeflag")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), so.String(), se.String()
		}
		if err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		return 0, so.String(), se.String()
	}
	key := filepath.Join(dir, "k")
	if code, _, se := exe("keygen", "--out", key); code != 0 {
		t.Fatalf("keygen exit %d: %s", code, se)
	}
	outDir := filepath.Join(dir, "out")
	if code, _, se := exe("build", examples, "--env", "production", "--key", key, "--out", outDir, "--now", "2026-05-01T00:00:00Z"); code != 0 {
		t.Fatalf("build exit %d: %s", code, se)
	}
	bundle := filepath.Join(outDir, "shop.production.1.server.jws")
	code, so, se := exe("eval", bundle, "--jwks", key+".jwks.json", "--flag", "payment-retry-limit", "--context", `{"age":18}`, "--now", "2026-05-01T00:00:00Z")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, se)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(so), &r); err != nil {
		t.Fatalf("eval output %q: %v", so, err)
	}
	// age 18 < 21: rule young-or-new serves none (0); bundle version 1.
	if r["variant"] != "none" || r["value"] != 0.0 || r["ruleId"] != "young-or-new" || r["version"] != 1.0 {
		t.Errorf("eval result %v", r)
	}
	// Exit codes of the process: usage error 1, verification failure 2.
	if code, _, se := exe("eval", bundle, "--flag", "x"); code != 1 || !strings.HasPrefix(se, "usage:") && !strings.Contains(se, "edgeflag: eval:") {
		t.Errorf("missing --jwks: exit %d, stderr %q", code, se)
	}
	os.WriteFile(filepath.Join(dir, "bad.jws"), []byte("not.a.bundle"), 0o644)
	if code, _, se := exe("eval", filepath.Join(dir, "bad.jws"), "--jwks", key+".jwks.json", "--all"); code != 2 || !strings.Contains(se, "edgeflag: eval: ") {
		t.Errorf("malformed bundle: exit %d, stderr %q", code, se)
	}
}
