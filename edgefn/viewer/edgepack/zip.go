package edgepack

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// zipTime is every entry's modification time: the same inputs give the
// same zip (and the same CodeSha256, so Lambda publishes no new version).
var zipTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip writes files (name → content) as a deterministic zip: entries in
// name order, fixed times, mode 0644, deflate at the best compression.
func Zip(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(files[n])
		}
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}

func deflatedSize(data []byte) int64 {
	var n countWriter
	w, _ := flate.NewWriter(&n, flate.BestCompression)
	_, _ = w.Write(data)
	_ = w.Close()
	return int64(n)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// ReadBaked returns the configuration baked into a package (its
// baked/config.json), for checks before a deployment.
func ReadBaked(zipPath string) (Baked, error) {
	var b Baked
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return b, fmt.Errorf("read edge package %s: %w", zipPath, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "baked/config.json" {
			continue
		}
		if f.UncompressedSize64 > MaxConfigFile {
			return b, fmt.Errorf("read edge package %s: baked/config.json is %d bytes", zipPath, f.UncompressedSize64)
		}
		r, err := f.Open()
		if err != nil {
			return b, fmt.Errorf("read edge package %s: %w", zipPath, err)
		}
		defer r.Close()
		dec := json.NewDecoder(io.LimitReader(r, MaxConfigFile))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return b, fmt.Errorf("read edge package %s: baked/config.json: %w", zipPath, err)
		}
		return b, nil
	}
	return b, fmt.Errorf("read edge package %s: no baked/config.json (not built by make edge)", zipPath)
}
