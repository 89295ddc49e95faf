package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs fn and fails the test when it has not returned after a
// generous bound: these tests assert "refused, not hung or exhausted",
// not a speed.
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("did not return: unbounded work")
	}
}

// laughs returns an object flag named key whose variants l0..l<levels-1>
// are each a list of ten aliases of the previous one, so l<levels-1>
// expands to 10^levels scalars.
func laughs(key string, levels int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "  %s:\n    type: object\n    defaultVariant: l0\n    variants:\n", key)
	sb.WriteString("      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&sb, "      l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "*l%d", i-1)
		}
		sb.WriteString("]\n")
	}
	return sb.String()
}

func wantDiag(t *testing.T, ds Diagnostics, substr ...string) Diagnostic {
	t.Helper()
	for _, d := range ds {
		s := d.String()
		ok := true
		for _, w := range substr {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			if d.Severity != SeverityError {
				t.Errorf("%s is not an error", s)
			}
			return d
		}
	}
	t.Fatalf("no diagnostic with %q in:\n%s", substr, ds.Error())
	return Diagnostic{}
}

// The classic billion laughs: nine levels, 10^9 scalars when expanded,
// used as one object variant's value.
func TestBillionLaughsRefused(t *testing.T) {
	src := "project: p\nenvironments: [dev]\nflags:\n" + laughs("f", 9)
	var ds Diagnostics
	within(t, func() { _, ds = Parse([]File{{Name: "bomb.yaml", Data: []byte(src)}}) })
	d := wantDiag(t, ds, "bomb.yaml:", "config too large: over 2097152 YAML nodes")
	if !strings.HasPrefix(d.Path, "flags.f.variants.l") {
		t.Errorf("diagnostic path %q does not name the variant", d.Path)
	}
	if n := len(ds.Errors()); n != 1 {
		t.Errorf("%d errors, want exactly the limit:\n%s", n, ds.Error())
	}
}

// No single value is large, but every flag reuses a value of 50 000 nodes:
// a per-value limit lets it through, the directory total does not.
func TestAliasBombAcrossValuesRefused(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("project: p\nenvironments: [dev]\nflags:\n")
	sb.WriteString(laughs("seed", 4)) // l3: 10 000 scalars, 11 111 nodes
	sb.WriteString("      big: &big [*l3, *l3, *l3, *l3, *l3]\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&sb, "  f%d: {type: object, variants: {v: *big}, defaultVariant: v}\n", i)
	}
	var ds Diagnostics
	within(t, func() { _, ds = Parse([]File{{Name: "many.yaml", Data: []byte(sb.String())}}) })
	d := wantDiag(t, ds, "many.yaml:", "config too large: over 2097152 YAML nodes")
	if !strings.HasPrefix(d.Path, "flags.f") || !strings.Contains(d.Path, ".variants.v") {
		t.Errorf("diagnostic path %q does not name the flag value", d.Path)
	}
}

// Each file stays far below the limit; together they exceed it. The
// files after the one that crossed the limit are not parsed.
func TestAliasBombSpreadOverFilesRefused(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 40; i++ {
		src := "flags:\n" + laughs(fmt.Sprintf("f%d", i), 5)
		if i == 0 {
			src += "project: p\nenvironments: [dev]\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.yaml", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ds Diagnostics
	within(t, func() { _, ds = Load(dir) })
	d := wantDiag(t, ds, "config too large: over 2097152 YAML nodes")
	// Each file expands to some 123 500 nodes (every variant walked, with
	// l4 alone 111 111): the limit is crossed in the 17th.
	if !strings.HasSuffix(d.Pos.File, "f16.yaml") {
		t.Errorf("limit crossed in %s, want f16.yaml", d.Pos.File)
	}
	if n := len(ds.Errors()); n != 1 {
		t.Errorf("%d errors, want exactly the limit:\n%s", n, ds.Error())
	}
}

func TestExpandedBytesAndDepthAndCycles(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	src := "a: &a \"" + long + "\"\nb: [" + strings.Repeat("*a, ", 70) + "*a]\n"
	_, ds := Parse([]File{{Name: "long.yaml", Data: []byte(src)}})
	wantDiag(t, ds, "long.yaml:2:", "over 67108864 bytes of keys and values")

	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	_, ds = Parse([]File{{Name: "deep.yaml", Data: []byte("flags: " + deep + "\n")}})
	wantDiag(t, ds, "deep.yaml:1:", "nested more than 256 levels")

	_, ds = Parse([]File{{Name: "cycle.yaml", Data: []byte("project: p\nenvironments: [dev]\nflags:\n  f: {type: object, variants: {v: &x [*x]}, defaultVariant: v}\n")}})
	d := wantDiag(t, ds, "cycle.yaml:4:", "alias *x refers to a node that contains it")
	if d.Path != "flags.f.variants.v[0]" {
		t.Errorf("cycle path %q", d.Path)
	}
}

func TestRawBytesLimit(t *testing.T) {
	dir := t.TempDir()
	// Sparse: refused by its size before it is read.
	f, err := os.Create(filepath.Join(dir, "huge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("project: p\nenvironments: [dev]\n"), 0o644)
	var ds Diagnostics
	within(t, func() { _, ds = Load(dir) })
	wantDiag(t, ds, filepath.Join(dir, "huge.yaml")+": config too large: the files total more than 16777216 bytes")

	// Several files that each fit but together do not.
	lim := DefaultLimits()
	lim.MaxBytes = 100
	_, ds = ParseWithLimits([]File{{Name: "a.yaml", Data: make([]byte, 60)}, {Name: "b.yaml", Data: make([]byte, 60)}}, lim)
	wantDiag(t, ds, "b.yaml: config too large: the files total more than 100 bytes")
}

func TestOnlyRegularFilesAreRead(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("project: p\nenvironments: [dev]\n"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml"))
	// A link to a regular file outside the directory is followed (a
	// Kubernetes ConfigMap mounts every file as one); a link to a
	// directory is skipped like a directory.
	outside := filepath.Join(t.TempDir(), "flags.yaml")
	os.WriteFile(outside, []byte("flags:\n  f: {type: boolean}\n"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "linked.yaml"))
	os.Symlink(t.TempDir(), filepath.Join(dir, "sub.yaml"))
	var (
		doc *Document
		ds  Diagnostics
	)
	within(t, func() { doc, ds = Load(dir) })
	wantDiag(t, ds, filepath.Join(dir, "pipe.yaml")+": is a named pipe, not a regular file")
	wantDiag(t, ds, filepath.Join(dir, "zero.yaml")+": is a character device, not a regular file")
	if n := len(ds.Errors()); n != 2 {
		t.Errorf("%d errors, want 2:\n%s", n, ds.Error())
	}
	if doc.Flag("f") == nil {
		t.Error("the flag of the linked file was not loaded")
	}
}

// The webhook event list cannot be changed by a caller, nor through a
// webhook's default events.
func TestWebhookEventsIsACopy(t *testing.T) {
	doc, _ := Parse([]File{{Name: "w.yaml", Data: []byte("project: p\nenvironments: [dev]\nwebhooks: [{name: w, url: 'https://h.example', secret: 'env:X'}]\n")}})
	doc.Webhooks[0].Events[0] = "delete-everything"
	ev := WebhookEvents()
	ev[1] = "x"
	if got := WebhookEvents(); len(got) != 2 || got[0] != "publish" || got[1] != "rollback" {
		t.Errorf("WebhookEvents() = %v after callers' writes", got)
	}
}
