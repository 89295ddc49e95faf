// Package filestore is the file:// object store: every object is a file
// under a root directory. Writes are atomic (temporary file in the same
// directory, fsync, rename or link, fsync of the directory), so a reader sees
// either the old or the new content, never a partial one. Create-only writes
// use link(2), which fails atomically when the target exists; If-Match writes
// compare and rename while holding an flock(2) on a per-directory lock file,
// which serialises them against every other writer of that directory, in this
// process or another one.
//
// ETags are the hex SHA-256 of an object's content.
//
// The package is Unix-only (flock, link and directory fsync).
package filestore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// lockName is the per-directory lock file. Its leading dot keeps it out of
// List and out of the key space (blob.CheckKey rejects dot segments).
const lockName = ".edgeflag.lock"

// tmpPrefix starts the names of temporary files.
const tmpPrefix = ".tmp-"

// Store is a directory-backed blob.Blob.
type Store struct {
	root string
}

// New returns a store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open file store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.root }

func (s *Store) path(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// ETag returns the ETag the store gives to content.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Get reads an object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, "", fmt.Errorf("get object: %w", err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", fmt.Errorf("get object %s: %w", key, blob.ErrNotFound)
		}
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	return data, ETag(data), nil
}

// Put writes an object atomically under cond.
func (s *Store) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	if err := cond.Validate(); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	p, err := s.path(key)
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	defer os.Remove(tmp) // no-op after a successful rename; removes the link source otherwise

	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	defer unlock()

	switch {
	case cond.CreateOnly:
		if err := os.Link(tmp, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("put object %s: %w", key, blob.ErrPreconditionFailed)
			}
			return fmt.Errorf("put object %s: %w", key, err)
		}
	case cond.IfMatch != "":
		cur, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("put object %s: object absent: %w", key, blob.ErrPreconditionFailed)
			}
			return fmt.Errorf("put object %s: %w", key, err)
		}
		if ETag(cur) != cond.IfMatch {
			return fmt.Errorf("put object %s: etag changed: %w", key, blob.ErrPreconditionFailed)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("put object %s: %w", key, err)
		}
	default:
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("put object %s: %w", key, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	return nil
}

// List returns the keys under prefix, sorted. Temporary and lock files are
// never listed.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	// Walk the deepest directory the prefix names completely.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dirPart := prefix[:i]
		if err := blob.CheckKey(dirPart); err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		start = filepath.Join(s.root, filepath.FromSlash(dirPart))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != start {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list objects %q: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// writeTemp writes data to a new temporary file in dir and fsyncs it.
func writeTemp(dir string, data []byte) (string, error) {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	name := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// lockDir takes an exclusive flock on dir's lock file.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// syncDir fsyncs a directory so that a rename or link in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
