package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runWithin runs a command and fails the test when it does not return in a
// generous bound: "never hangs", not a speed.
func runWithin(t *testing.T, args ...string) out {
	t.Helper()
	ch := make(chan out, 1)
	go func() {
		e, so, se := newEnv("")
		code := e.Run(t.Context(), args)
		ch <- out{code, so.String(), se.String()}
	}()
	select {
	case o := <-ch:
		return o
	case <-time.After(30 * time.Second):
		t.Fatalf("edgeflag %s did not return", strings.Join(args, " "))
		return out{}
	}
}

// Hostile config directories end in a positioned error and exit 1, for
// every command that loads a directory.
func TestHostileConfigRefused(t *testing.T) {
	key := keygen(t)
	fifoDir := copyExamples(t)
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "zz.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	bombDir := copyExamples(t)
	var sb strings.Builder
	sb.WriteString("flags:\n  bomb:\n    type: object\n    defaultVariant: l0\n    variants:\n      l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	prev := "l0"
	for i := 1; i < 9; i++ {
		name := "l" + string(rune('0'+i))
		sb.WriteString("      " + name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n")
		prev = name
	}
	if err := os.WriteFile(filepath.Join(bombDir, "bomb.yaml"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]*regexp.Regexp{
		fifoDir: regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(filepath.Join(fifoDir, "zz.yaml")) + `: is a named pipe, not a regular file`),
		bombDir: regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(filepath.Join(bombDir, "bomb.yaml")) + `:\d+:\d+: flags\.bomb\.variants\.l\d\S*: config too large`),
	}
	store := "file://" + t.TempDir()
	for dir, want := range cases {
		for _, args := range [][]string{
			{"validate", dir},
			{"build", dir, "--env", "staging", "--key", key, "--out", t.TempDir()},
			{"publish", dir, "--env", "staging", "--key", key, "--store", store},
			{"eval", dir, "--env", "staging", "--all", "--context", "{}"},
		} {
			o := runWithin(t, args...)
			mustCode(t, o, 1)
			if !want.MatchString(o.stderr) {
				t.Errorf("%s: stderr lacks %s:\n%s", args[0], want, o.stderr)
			}
		}
	}
}

// A name that cannot be a store path is a lint error at its place (exit
// 1) for every command, not a store error at publish time; --project and
// --env values are checked by the same rule as usage errors.
func TestPathNamesRefusedBeforeTheStore(t *testing.T) {
	key := keygen(t)
	dir := copyExamples(t)
	edit(t, filepath.Join(dir, "project.yaml"), "project: shop", "project: ..")
	storeDir := t.TempDir()
	store := "file://" + storeDir
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(filepath.Join(dir, "project.yaml")) + `:\d+:\d+: project: project name ".." must not start with '.'`)
	for _, args := range [][]string{
		{"validate", dir},
		{"publish", dir, "--env", "staging", "--key", key, "--store", store},
		{"diff", dir, "--env", "staging", "--store", store},
	} {
		o := run(t, args...)
		mustCode(t, o, 1)
		if !want.MatchString(o.stderr) {
			t.Errorf("%s: stderr lacks %s:\n%s", args[0], want, o.stderr)
		}
	}
	for _, args := range [][]string{
		{"audit", "--store", store, "--project", "..", "--env", "staging"},
		{"audit", "--store", store, "--project", "shop", "--env", "~x"},
		{"rollback", "--store", store, "--project", ".", "--env", "staging", "--to", "1", "--key", key, "--reason", "r"},
		{"diff", "--store", store, "--project", ".x", "--env", "staging", "--from", "1", "--to", "2"},
		{"analytics", "--store", store, "--project", "..", "--env", "staging"},
		{"results", "checkout", "--store", store, "--project", "shop", "--env", ".."},
	} {
		o := run(t, args...)
		mustCode(t, o, 1)
		if !strings.Contains(o.stderr, "must not start with") {
			t.Errorf("%v: %s", args, o.stderr)
		}
	}
	if ents, _ := os.ReadDir(storeDir); len(ents) != 0 {
		t.Errorf("the store was written: %v", ents)
	}
}
