package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repeatedStep returns the first step (a ": "-separated segment) of an
// error line "edgeflag: CMD: step: step: ..." that names an earlier one
// again: the same text, or, after the command, the same words followed by
// more ("open store: open store s3://b: ...").
func repeatedStep(line string) string {
	segs := strings.Split(line, ": ")
	for i := 1; i < len(segs); i++ {
		for j := 0; j < i; j++ {
			if segs[i] == segs[j] || (j >= 2 && strings.HasPrefix(segs[i], segs[j]+" ")) {
				return segs[j]
			}
		}
	}
	return ""
}

// TestErrorsNameEachStepOnce runs the CLI's failure paths and checks the
// error convention: each step is named once (the callee names its
// operation, callers add only new context), so no message reads
// "open store: open store ..." or "publish: publish: ...".
func TestErrorsNameEachStepOnce(t *testing.T) {
	key, other := keygen(t), keygen(t)
	otherJWKS := other + ".jwks.json"
	good := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", good), 0)
	bundle := filepath.Join(storeDir(good), "shop", "staging", "bundles", "1.server.jws")

	blocked := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", blocked), 0)
	os.MkdirAll(filepath.Join(storeDir(blocked), "shop", "staging", "bundles", "2.client.jws", "x"), 0o755)

	broken := "file://" + t.TempDir()
	mustCode(t, run(t, "publish", examples, "--env", "staging", "--key", key, "--store", broken), 0)
	writeFile(t, filepath.Join(storeDir(broken), "shop", "staging", "current.json"), "{")
	writeFile(t, filepath.Join(storeDir(broken), "shop", "webhooks.json"), "{")

	readable := filepath.Join(t.TempDir(), "readable.key")
	keyData, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, readable, string(keyData))
	if err := os.Chmod(readable, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"publish", examples, "--env", "staging", "--key", key, "--store", "ftp://x"},
		{"publish", examples, "--env", "staging", "--key", key, "--store", blocked},
		{"publish", examples, "--env", "staging", "--key", key, "--store", broken},
		{"publish", examples, "--env", "staging", "--key", "/nonexistent", "--store", good},
		{"publish", examples, "--env", "staging", "--key", readable, "--store", good},
		{"keygen", "--out", key},
		{"publish", examples, "--env", "nope", "--key", key, "--store", good},
		{"build", examples, "--env", "staging", "--key", key, "--out", "/proc/nope"},
		{"validate", examples, "--store", "s3://b?bogus=1"},
		{"validate", examples, "--store", broken},
		{"audit", "--store", "s3://", "--project", "shop", "--env", "staging"},
		{"audit", "--store", broken, "--project", "shop", "--env", "staging"},
		{"audit", "--store", good, "--project", "shop", "--env", "staging", "--config", t.TempDir()},
		{"diff", "--store", good, "--project", "shop", "--env", "staging", "--from", "1", "--to", "9"},
		{"diff", examples, "--env", "staging", "--store", good, "--jwks", otherJWKS},
		{"diff", examples, "--env", "staging", "--store", broken},
		{"rollback", "--store", good, "--project", "shop", "--env", "staging", "--to", "1", "--key", key, "--jwks", otherJWKS, "--reason", "r"},
		{"rollback", "--store", broken, "--project", "shop", "--env", "staging", "--to", "1", "--key", key, "--reason", "r"},
		{"analytics", "--store", "s3://", "--project", "shop", "--env", "staging"},
		{"results", "checkout", "--store", "s3://", "--project", "shop", "--env", "staging"},
		{"inspect", bundle, "--jwks", otherJWKS},
		{"eval", bundle, "--jwks", otherJWKS, "--all", "--context", "{}"},
		{"eval", examples, "--env", "staging", "--all", "--context", "[]"},
	}
	for _, args := range cases {
		o := run(t, args...)
		if o.code == 0 {
			t.Errorf("%v succeeded", args)
			continue
		}
		var lines []string
		for _, l := range strings.Split(o.stderr, "\n") {
			if strings.HasPrefix(l, "edgeflag: ") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			t.Errorf("%v: no error line in:\n%s", args, o.stderr)
		}
		for _, l := range lines {
			if s := repeatedStep(l); s != "" {
				t.Errorf("%v: %q names %q twice", args, l, s)
			}
		}
	}
}
