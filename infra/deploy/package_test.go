package deploy

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func makeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, path, b.Bytes())
}

func TestPackageFunction(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	write(t, bin, []byte("\x7fELF stand-in binary"))
	out := filepath.Join(dir, "edgefn.zip")
	if _, err := PackageFunction(bin, out); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(out)
	if _, err := PackageFunction(bin, out); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Error("the same binary gave two different zips (CodeSha256 would change on every package)")
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("zip holds %v; want one executable bootstrap", zr.File)
	}
	if _, err := PackageFunction(filepath.Join(dir, "missing"), out); err == nil {
		t.Error("packaged a missing binary")
	}
}

func TestPackageChecksTheEdgeZip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	write(t, bin, []byte("\x7fELF"))
	out := filepath.Join(dir, "edgefn.zip")
	edge := filepath.Join(dir, "edge.zip")

	makeZip(t, edge, map[string][]byte{"index.mjs": []byte("export const viewerRequest = () => {};")})
	var report bytes.Buffer
	if err := Package(bin, out, edge, &report); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(function)", "of 50 MB", "(viewer)", "of 1 MB"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}

	makeZip(t, edge, map[string][]byte{"handler.js": []byte("x")})
	if err := Package(bin, out, edge, &report); err == nil || !strings.Contains(err.Error(), "no index.js") {
		t.Errorf("an edge zip without the handlers' module: %v", err)
	}

	big := make([]byte, EdgeViewerZipLimit+1)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	makeZip(t, edge, map[string][]byte{"index.js": big})
	if err := Package(bin, out, edge, &report); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a viewer zip over 1 MB: %v", err)
	}

	write(t, edge, []byte("not a zip"))
	if err := Package(bin, out, edge, &report); err == nil {
		t.Error("accepted an edge package that is not a zip")
	}
}
