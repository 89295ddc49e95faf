package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// limitCase is a config directory whose bundle breaks one verifier limit,
// and the diagnostic every command must print for it.
type limitCase struct {
	name  string
	files map[string]string
	want  string // regexp, anchored at a line start; FILE stands for the file
	file  string
}

const limitsProject = "project: lim\nenvironments: [prod]\n"

// randomKeys returns n random 1 000-character keys: about 750 bytes each
// once compressed, since base64url carries 6 bits per byte.
func randomKeys(t *testing.T, n int) string {
	t.Helper()
	var sb strings.Builder
	raw := make([]byte, 750)
	for i := 0; i < n; i++ {
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		sb.WriteString("      - ")
		sb.WriteString(base64.RawURLEncoding.EncodeToString(raw))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// oversizeCompressed: 12 000 random keys, some 9 MB compressed, while the
// default verifier accepts 8 MiB.
func oversizeCompressed(t *testing.T) limitCase {
	return limitCase{
		name: "compressed size",
		file: "project.yaml",
		files: map[string]string{
			"project.yaml": limitsProject,
			"keys.yaml":    "segments:\n  many:\n    keys:\n" + randomKeys(t, 12000),
		},
		want: `FILE:2:16: environments\[0\]: the prod server bundle would be refused by verifiers: \d+ bytes \(\d+\.\d MiB\) compressed; verifiers accept at most 8388608 bytes \(8\.0 MiB\)`,
	}
}

func limitCases(t *testing.T) []limitCase {
	// Seventy distinct values of about 1 MB each: "\x01" is one byte in
	// YAML's count but six ("\u0001") in the canonical JSON, so the
	// config stays small while the encoding passes 64 MiB.
	var big strings.Builder
	big.WriteString(limitsProject + "flags:\n  wide:\n    type: object\n    defaultVariant: v0\n    variants:\n")
	big.WriteString("      v0: [&s \"" + strings.Repeat(`\x01`, 170000) + "\", 0]\n")
	for i := 1; i < 70; i++ {
		fmt.Fprintf(&big, "      v%d: [*s, %d]\n", i, i)
	}
	var flags strings.Builder
	flags.WriteString(limitsProject + "flags:\n")
	for i := 0; i <= 100000; i++ {
		fmt.Fprintf(&flags, "  f%06d: {type: boolean}\n", i)
	}
	return []limitCase{
		oversizeCompressed(t),
		{
			name:  "decompressed size",
			file:  "f.yaml",
			files: map[string]string{"f.yaml": big.String()},
			want:  `FILE:2:16: environments\[0\]: the prod server bundle would be refused by verifiers: \d+ bytes \(\d+\.\d MiB\) encoded; verifiers accept at most 67108864 bytes \(64\.0 MiB\)`,
		},
		{
			name:  "nesting depth",
			file:  "f.yaml",
			files: map[string]string{"f.yaml": limitsProject + "flags:\n  deep:\n    type: object\n    defaultVariant: v\n    variants:\n      v: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"},
			want:  `FILE:8:10: flags\.deep\.variants\.v: value refused by bundle verifiers: JSON: nesting too deep`,
		},
		{
			name:  "string length",
			file:  "f.yaml",
			files: map[string]string{"f.yaml": limitsProject + "flags:\n  long:\n    type: string\n    defaultVariant: v\n    variants:\n      v: " + strings.Repeat("a", 1<<20+1) + "\n"},
			want:  `FILE:8:7: flags\.long\.variants\.v: the value is 1048579 bytes; verifiers accept strings of at most 1048576 bytes`,
		},
		{
			name:  "flag count",
			file:  "f.yaml",
			files: map[string]string{"f.yaml": flags.String()},
			want:  `FILE:100004:3: flags\.f100000: the prod server bundle would hold 100001 flags here; verifiers accept at most 100000`,
		},
		{
			name:  "validity period",
			file:  "f.yaml",
			files: map[string]string{"f.yaml": "project: lim\nenvironments: [{name: prod, bundleTTL: 500ms}]\n"},
			want:  `FILE:2:40: environments\[0\]\.bundleTTL: must be at least 1s`,
		},
	}
}

func writeCase(t *testing.T, c limitCase) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range c.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Every limit a verifier with default limits applies is an error that
// validate, build and publish report alike, at its place in the config,
// with exit 1; nothing is written.
func TestVerifierLimitsAgree(t *testing.T) {
	key := keygen(t)
	for _, c := range limitCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := writeCase(t, c)
			want := regexp.MustCompile(`(?m)^` + strings.ReplaceAll(c.want, "FILE", regexp.QuoteMeta(filepath.Join(dir, c.file))))
			outDir, storeDir := t.TempDir(), t.TempDir()
			for _, args := range [][]string{
				{"validate", dir},
				{"build", dir, "--env", "prod", "--key", key, "--out", outDir},
				{"publish", dir, "--env", "prod", "--key", key, "--store", "file://" + storeDir},
			} {
				o := run(t, args...)
				mustCode(t, o, 1)
				if !want.MatchString(o.stderr) {
					t.Errorf("%s: stderr lacks %s:\n%.2000s", args[0], want, o.stderr)
				}
			}
			for _, d := range []string{outDir, storeDir} {
				if ents, _ := os.ReadDir(d); len(ents) != 0 {
					t.Errorf("%s was written: %v", d, ents)
				}
			}
		})
	}
}

// A publish verifiers would refuse is refused before the store is touched,
// so the environment keeps working: publish, diff and rollback after it
// succeed. (Before the check, this publish exited 0 and every later
// publish, diff and rollback failed reading the oversize bundle.)
func TestRefusedPublishLeavesEnvironmentWorking(t *testing.T) {
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	good := t.TempDir()
	os.WriteFile(filepath.Join(good, "project.yaml"), []byte(limitsProject+"flags:\n  f: {type: boolean}\n"), 0o644)
	mustCode(t, run(t, "publish", good, "--env", "prod", "--key", key, "--store", storeURL), 0)

	bad := writeCase(t, oversizeCompressed(t))
	mustCode(t, run(t, "publish", bad, "--env", "prod", "--key", key, "--store", storeURL), 1)

	edit(t, filepath.Join(good, "project.yaml"), "f: {type: boolean}", "f: {type: boolean}\n  g: {type: boolean}")
	o := run(t, "publish", good, "--env", "prod", "--key", key, "--store", storeURL)
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n2\n") || !strings.Contains(o.stdout, "+ flag g") {
		t.Errorf("publish after the refused one:\n%s", o.stdout)
	}
	mustCode(t, run(t, "diff", good, "--env", "prod", "--store", storeURL, "--jwks", key+".jwks.json"), 0)
	o = run(t, "rollback", "--store", storeURL, "--project", "lim", "--env", "prod", "--to", "1", "--key", key, "--reason", "r")
	mustCode(t, o, 0)
	if !strings.HasSuffix(o.stdout, "\n3\n") {
		t.Errorf("rollback:\n%s", o.stdout)
	}
}

// An environment whose live version cannot be read (written by an older
// publisher, or damaged) can still be repaired: publish and rollback go
// ahead without a change summary and say why.
func TestUnreadableLiveVersionDoesNotBlockPublish(t *testing.T) {
	key := keygen(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "project.yaml"), []byte(limitsProject+"flags:\n  f: {type: boolean}\n"), 0o644)
	for _, cmd := range []string{"publish", "rollback"} {
		storeURL := "file://" + t.TempDir()
		mustCode(t, run(t, "publish", dir, "--env", "prod", "--key", key, "--store", storeURL), 0)
		mustCode(t, run(t, "publish", dir, "--env", "prod", "--key", key, "--store", storeURL), 0)
		env := filepath.Join(storeDir(storeURL), "lim", "prod")
		bundle := filepath.Join(env, "bundles", "2.server.jws")
		old := digestOf(t, bundle)
		writeFile(t, bundle, "not a bundle")
		audit := filepath.Join(env, "audit", "00000000000000000002.json")
		rec, _ := os.ReadFile(audit)
		writeFile(t, audit, strings.Replace(string(rec), old, digestOf(t, bundle), 1))

		args := []string{"publish", dir, "--env", "prod", "--key", key, "--store", storeURL}
		if cmd == "rollback" {
			args = []string{"rollback", "--store", storeURL, "--project", "lim", "--env", "prod", "--to", "1", "--key", key, "--reason", "r"}
		}
		o := run(t, args...)
		mustCode(t, o, 0)
		if !strings.Contains(o.stderr, "edgeflag: "+cmd+": note: no change summary: ") || !strings.Contains(o.stdout, "(no change summary: live version 2 could not be read)") {
			t.Errorf("%s over an unreadable live version:\nstdout:\n%s\nstderr:\n%s", cmd, o.stdout, o.stderr)
		}
	}
}

// Validity periods and issue times a bundle cannot carry are usage errors.
func TestTTLAndIssueTimeUsage(t *testing.T) {
	key := keygen(t)
	for _, args := range [][]string{
		{"build", examples, "--env", "staging", "--key", key, "--out", t.TempDir(), "--ttl", "500ms"},
		{"build", examples, "--env", "staging", "--key", key, "--out", t.TempDir(), "--now", "1969-12-31T23:59:59Z"},
		{"rollback", "--store", "file://" + t.TempDir(), "--project", "shop", "--env", "staging", "--to", "1", "--key", key, "--reason", "r", "--ttl", "0.5s"},
	} {
		o := run(t, args...)
		if o.code != 1 || !(strings.Contains(o.stderr, "at least 1s") || strings.Contains(o.stderr, "before 1970")) {
			t.Errorf("%v: exit %d\n%s", args, o.code, o.stderr)
		}
	}
}
