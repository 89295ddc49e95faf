package lkg

import (
	"encoding/json"
	"fmt"

	"github.com/edgeflag/edgeflag/internal/safefile"
)

// Format is the format version of the records this package writes.
const Format = 1

// MaxCopy bounds a copy file read back: two bundles at the verifier's
// default compressed limit, in base64, plus slack.
const MaxCopy = 32 << 20

// maxFloor bounds a floor file.
const maxFloor = 4 << 10

// Copy is the local copy of the last verified bundles of one environment:
// the signed envelopes exactly as they were verified, and where they came
// from. Only a copy: its bundles must be verified again before use.
type Copy struct {
	// Format is the record format (Format).
	Format int `json:"format"`
	// Project and Environment are what the bundles are for.
	Project     string `json:"project"`
	Environment string `json:"environment"`
	// Version is the bundles' signed version.
	Version uint64 `json:"version"`
	// Server and Client are the signed envelopes of each audience; a
	// verifier of one audience keeps only its own.
	Server string `json:"server,omitempty"`
	Client string `json:"client,omitempty"`
	// ETag is the entity tag the bundle was served with (for a
	// conditional request after a restart), if any.
	ETag string `json:"etag,omitempty"`
}

// floor is the persisted anti-rollback floor: the highest bundle version
// of an environment ever accepted.
type floor struct {
	Format      int    `json:"format"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Version     uint64 `json:"version"`
}

// ReadCopy reads the copy at path and checks that it is for project and
// env in this format. A missing file gives an error matching
// fs.ErrNotExist. The bundles in it are not verified.
func ReadCopy(path, project, env string) (*Copy, error) {
	var c Copy
	if err := readRecord(path, MaxCopy, &c); err != nil {
		return nil, err
	}
	if err := check(path, c.Format, c.Project, c.Environment, project, env); err != nil {
		return nil, err
	}
	return &c, nil
}

// WriteCopy replaces the copy at path atomically (mode 0600: a copy of a
// server bundle holds everything the server knows).
func WriteCopy(path string, c Copy) error {
	c.Format = Format
	return writeRecord(path, c)
}

// ReadFloor returns the version floor at path for project and env: 0 and
// an error matching fs.ErrNotExist when there is none yet.
func ReadFloor(path, project, env string) (uint64, error) {
	var f floor
	if err := readRecord(path, maxFloor, &f); err != nil {
		return 0, err
	}
	if err := check(path, f.Format, f.Project, f.Environment, project, env); err != nil {
		return 0, err
	}
	if f.Version == 0 {
		return 0, fmt.Errorf("read %s: version 0 is not a floor", path)
	}
	return f.Version, nil
}

// WriteFloor replaces the version floor at path atomically. It does not
// compare with the floor on disk: the caller holds the highest version it
// accepted and writes only when that grows.
func WriteFloor(path, project, env string, version uint64) error {
	if version == 0 {
		return fmt.Errorf("write %s: version 0 is not a floor", path)
	}
	return writeRecord(path, floor{Format: Format, Project: project, Environment: env, Version: version})
}

func readRecord(path string, max int64, v any) error {
	data, err := safefile.Read(path, max)
	if err != nil {
		return err
	}
	if err := decodeStrict(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func writeRecord(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFile(path, data, 0o600)
}

func check(path string, format int, project, env, wantProject, wantEnv string) error {
	if format != Format || project != wantProject || env != wantEnv {
		return fmt.Errorf("read %s: format %d for %s/%s, want format %d for %s/%s",
			path, format, project, env, Format, wantProject, wantEnv)
	}
	return nil
}
