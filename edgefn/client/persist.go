package client

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/internal/lkg"
)

// The file cache (edgefn/internal/lkg, the same files edgefn keeps):
// <CacheDir>/<project>.<env>.<audience>.lkg.json holds the last verified
// bundle and its ETag; <…>.floor.json the highest version ever accepted.
// The two are written separately, each atomically: bundle first, floor
// second, so a crash in between leaves a bundle at or above the floor.

// readFloor reads the persisted floor; none yet is 0.
func readFloor(c *Client) (uint64, error) {
	v, err := lkg.ReadFloor(c.floorPth, c.cfg.Project, c.cfg.Environment)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("version floor: %w", err)
	}
	return v, nil
}

// loadCopy reads the cached bundle and verifies it like a download, with
// the floor and the grace. (nil, "", nil): there is none.
func (c *Client) loadCopy(now time.Time) (*loaded, string, error) {
	cp, err := lkg.ReadCopy(c.copyPath, c.cfg.Project, c.cfg.Environment)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, ReasonCache, fmt.Errorf("cached bundle: %w", err)
	}
	raw := cp.Server
	if c.aud == ir.AudienceClient {
		raw = cp.Client
	}
	b, err := c.open([]byte(raw), now, c.floor)
	if err != nil {
		return nil, rejection(err), fmt.Errorf("cached bundle %s: %w", c.copyPath, err)
	}
	if b.Claims.Version != cp.Version {
		return nil, ReasonCache, fmt.Errorf("cached bundle %s: signed as version %d, the file says %d", c.copyPath, b.Claims.Version, cp.Version)
	}
	return newLoaded(b, []byte(raw), cp.ETag, "cache"), "", nil
}

// rejection names a verifier error: its sentinel name, or ReasonVerify.
func rejection(err error) string {
	if n := envelope.ErrorName(err); n != "" {
		return n
	}
	return ReasonVerify
}

// persist raises the floor to l's version, then writes l to the cache and
// the floor to its file. A failure is recorded in Status.PersistError; the
// caller serves l regardless. c.refreshMu is held (or, at New, nothing
// else runs yet).
func (c *Client) persist(l *loaded, writeCopy bool) {
	c.mu.Lock()
	raised := l.claims.Version > c.floor
	if raised {
		c.floor = l.claims.Version
	}
	c.mu.Unlock()
	if c.copyPath == "" || (!writeCopy && !raised) {
		return
	}
	var err error
	if derr := c.cacheDirReady(); derr != nil {
		err = fmt.Errorf("create the cache directory: %w", derr)
	} else {
		if writeCopy {
			cp := lkg.Copy{Project: c.cfg.Project, Environment: c.cfg.Environment, Version: l.claims.Version, ETag: l.etag}
			if c.aud == ir.AudienceClient {
				cp.Client = string(l.raw)
			} else {
				cp.Server = string(l.raw)
			}
			if werr := lkg.WriteCopy(c.copyPath, cp); werr != nil {
				err = fmt.Errorf("cache the bundle: %w", werr)
			}
		}
		// The floor is written even when the bundle could not be: refusing
		// older versions matters more than starting from the cache.
		if raised {
			if werr := lkg.WriteFloor(c.floorPth, c.cfg.Project, c.cfg.Environment, l.claims.Version); werr != nil {
				err = errors.Join(err, fmt.Errorf("persist the version floor: %w", werr))
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.PersistError = ""
	if err != nil {
		c.st.PersistError = err.Error()
		c.cfg.Logger.Warn("could not persist the verified bundle", "error", err.Error())
	}
}
