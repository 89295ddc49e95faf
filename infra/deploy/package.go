package deploy

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/viewer/edgepack"
)

// Lambda's package limits (AWS Lambda quotas and Lambda@Edge quotas).
const (
	MB                  = 1 << 20
	FunctionZipLimit    = 50 * MB                 // a .zip uploaded for a function
	FunctionUnzipLimit  = 250 * MB                // its content unzipped
	EdgeViewerZipLimit  = edgepack.ViewerZipLimit // Lambda@Edge viewer-request / viewer-response
	EdgeOriginZipLimit  = edgepack.OriginZipLimit // Lambda@Edge origin-request / origin-response
	bootstrapName       = "bootstrap"
	viewerHandlerModule = "index" // the templates' default handlers are index.viewerRequest / index.viewerResponse
)

// PackageFunction writes a Lambda zip holding one executable, bootstrap
// (mode 0755, fixed time, so the same binary gives the same zip and the
// same CodeSha256), and returns the zip's size.
func PackageFunction(bootstrap, out string) (int64, error) {
	in, err := os.Open(bootstrap)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("package %s: not a regular file", bootstrap)
	}
	if st.Size() > FunctionUnzipLimit {
		return 0, fmt.Errorf("package %s: %d bytes unzipped, over Lambda's %d", bootstrap, st.Size(), FunctionUnzipLimit)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".edgefn-*.zip")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	h := &zip.FileHeader{Name: bootstrapName, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(w, in)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("package %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return 0, err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// CheckEdgeZip checks the viewer package: a zip holding the handlers'
// module (index.js, index.mjs or index.cjs) at its root. It returns the
// size of the zip.
func CheckEdgeZip(path string) (int64, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, fmt.Errorf("check edge package %s: %w", path, err)
	}
	defer zr.Close()
	found := false
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "/") || strings.Contains(f.Name, "..") {
			return 0, fmt.Errorf("check edge package %s: unsafe entry %q", path, f.Name)
		}
		for _, ext := range []string{".js", ".mjs", ".cjs"} {
			if f.Name == viewerHandlerModule+ext {
				found = true
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("check edge package %s: no %s.js/.mjs/.cjs at its root for the handlers %s.viewerRequest and %s.viewerResponse",
			path, viewerHandlerModule, viewerHandlerModule, viewerHandlerModule)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// SizeReport renders one package's size against its limit.
func SizeReport(name string, size, limit int64) string {
	return fmt.Sprintf("%-48s %9d bytes  %6.2f%% of %d MB", name, size, 100*float64(size)/float64(limit), limit/MB)
}

// ErrTooLarge marks a package over its limit.
var ErrTooLarge = errors.New("over the Lambda limit")

// Package builds the edgefn zip from bootstrap, checks the edge zip (none
// when edgeZip is "") and reports the sizes against Lambda's limits to w.
func Package(bootstrap, out, edgeZip string, w io.Writer) error {
	fn, err := PackageFunction(bootstrap, out)
	if err != nil {
		return err
	}
	if edgeZip == "" {
		fmt.Fprintln(w, SizeReport(out+" (function)", fn, FunctionZipLimit))
		if fn > FunctionZipLimit {
			return fmt.Errorf("%s: %d bytes: %w (%d)", out, fn, ErrTooLarge, FunctionZipLimit)
		}
		return nil
	}
	edge, err := CheckEdgeZip(edgeZip)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, SizeReport(out+" (function)", fn, FunctionZipLimit))
	fmt.Fprintln(w, SizeReport(edgeZip+" (viewer)", edge, EdgeViewerZipLimit))
	fmt.Fprintln(w, SizeReport(edgeZip+" (as origin function)", edge, EdgeOriginZipLimit))
	switch {
	case fn > FunctionZipLimit:
		return fmt.Errorf("%s: %d bytes: %w (%d)", out, fn, ErrTooLarge, FunctionZipLimit)
	case edge > EdgeViewerZipLimit:
		return fmt.Errorf("%s: %d bytes: %w for viewer functions (%d)", edgeZip, edge, ErrTooLarge, EdgeViewerZipLimit)
	}
	return nil
}
