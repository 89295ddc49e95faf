// Package lkg keeps the local last-known-good state of a bundle verifier
// on disk: the copy of the last verified bundles of an environment and the
// anti-rollback version floor. Both edgefn (source) and the offline client
// (edgefn/client) use it.
//
// It trusts nothing it reads: a copy is only a copy, and callers verify its
// bundles again (bundle/envelope) before they serve them. What this package
// guarantees is the file handling: every write replaces its file atomically
// (temporary file in the same directory, fsync, rename, fsync of the
// directory), so a killed process leaves the old file or the new one, never
// a mix; every read opens without blocking, refuses anything but a regular
// file (a FIFO, a device, a directory) and is bounded in size; every record
// is decoded strictly (one JSON object, no unknown fields, nothing after
// it) and checked to be for the expected project and environment.
//
// The package depends only on the standard library, internal/safefile
// and edgefn/reqjson (the strict JSON scanner).
package lkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/edgeflag/edgeflag/edgefn/reqjson"
)

// writeFile replaces the file at path with data atomically: it writes a
// temporary file in the same directory, syncs it, renames it over path and
// syncs the directory, so that after a crash path holds either its old
// content or data. The directory must exist.
func writeFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := writeSync(tmp, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// writeSync writes data to f, sets its mode, syncs and closes it.
func writeSync(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// (and does not need to).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// decodeStrict decodes exactly one flat JSON object into v: duplicate
// member names (also spelled with escapes), invalid UTF-8, unknown fields
// and anything after the object are refused.
func decodeStrict(data []byte, v any) error {
	if _, err := reqjson.Parse(data, reqjson.Limits{MaxDepth: 1, MaxValues: 32, MaxString: MaxCopy}); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}
