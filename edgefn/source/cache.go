package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// The local last-known-good copy: one JSON file per environment holding
// both signed bundles of the last verified version. It is only a copy: it
// is verified again, like a download, before it is served.

const cacheFormat = 1

// maxCacheFile bounds what is read back (two bundles at the verifier's
// compressed limit, base64, plus slack).
const maxCacheFile = 32 << 20

type cacheFile struct {
	Format      int    `json:"format"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Version     uint64 `json:"version"`
	Server      string `json:"server"`
	Client      string `json:"client"`
}

var errNoCache = errors.New("no local bundle copy")

func (s *Source) cachePath() string {
	return filepath.Join(s.cfg.CacheDir, s.cfg.Project+"."+s.cfg.Environment+".lkg.json")
}

// loadCache reads and verifies the local copy.
func (s *Source) loadCache() (*Snapshot, error) {
	p := s.cachePath()
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoCache
	}
	if err != nil {
		return nil, fmt.Errorf("read local bundle copy: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read local bundle copy: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxCacheFile {
		return nil, fmt.Errorf("read local bundle copy %s: not a regular file of at most %d bytes", p, maxCacheFile)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read local bundle copy: %w", err)
	}
	var c cacheFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("read local bundle copy %s: %w", p, err)
	}
	if c.Format != cacheFormat || c.Project != s.cfg.Project || c.Environment != s.cfg.Environment {
		return nil, fmt.Errorf("read local bundle copy %s: format %d for %s/%s, want format %d for %s/%s",
			p, c.Format, c.Project, c.Environment, cacheFormat, s.cfg.Project, s.cfg.Environment)
	}
	now := s.cfg.Now()
	srv, o, err := s.verify([]byte(c.Server), ir.AudienceServer, now, 0)
	if err != nil {
		return nil, fmt.Errorf("local bundle copy %s: %w", p, err)
	}
	cli, oc, err := s.verify([]byte(c.Client), ir.AudienceClient, now, 0)
	if err != nil {
		return nil, fmt.Errorf("local bundle copy %s: %w", p, err)
	}
	if o.version != oc.version || o.version != c.Version {
		return nil, fmt.Errorf("local bundle copy %s: versions %d/%d, file says %d", p, o.version, oc.version, c.Version)
	}
	return &Snapshot{
		Version: o.version, KeyID: o.keyID, IssuedAt: o.issuedAt, ExpiresAt: o.expiresAt,
		LoadedAt: now, Origin: "cache", Server: srv, Client: cli,
	}, nil
}

// writeCache replaces the local copy atomically (temporary file, fsync,
// rename).
func (s *Source) writeCache(n *Snapshot) error {
	if err := os.MkdirAll(s.cfg.CacheDir, 0o755); err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	data, err := json.Marshal(cacheFile{
		Format: cacheFormat, Project: s.cfg.Project, Environment: s.cfg.Environment,
		Version: n.Version, Server: string(n.Server.Raw), Client: string(n.Client.Raw),
	})
	if err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	p := s.cachePath()
	tmp, err := os.CreateTemp(s.cfg.CacheDir, ".lkg-*.tmp")
	if err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	return nil
}
