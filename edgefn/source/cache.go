package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/internal/lkg"
)

// The local last-known-good copy: one file per environment holding both
// signed bundles of the last verified version (edgefn/internal/lkg). It is
// only a copy: it is verified again, like a download, before it is served.

var errNoCache = errors.New("no local bundle copy")

func (s *Source) cachePath() string {
	return filepath.Join(s.cfg.CacheDir, s.cfg.Project+"."+s.cfg.Environment+".lkg.json")
}

// loadCache reads and verifies the local copy.
func (s *Source) loadCache() (*Snapshot, error) {
	p := s.cachePath()
	c, err := lkg.ReadCopy(p, s.cfg.Project, s.cfg.Environment)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoCache
	}
	if err != nil {
		return nil, fmt.Errorf("local bundle copy: %w", err)
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

// writeCache replaces the local copy atomically.
func (s *Source) writeCache(n *Snapshot) error {
	if err := os.MkdirAll(s.cfg.CacheDir, 0o755); err != nil {
		return fmt.Errorf("write local bundle copy: %w", err)
	}
	if err := lkg.WriteCopy(s.cachePath(), lkg.Copy{Project: s.cfg.Project, Environment: s.cfg.Environment,
		Version: n.Version, Server: string(n.Server.Raw), Client: string(n.Client.Raw)}); err != nil {
		return fmt.Errorf("local bundle copy: %w", err)
	}
	return nil
}
