// Package filestore is the file:// object store: every object is a file
// under a root directory. Writes are atomic (temporary file in the same
// directory, fsync, rename or link, fsync of the directory), so a reader sees
// either the old or the new content, never a partial one. Create-only writes
// use link(2), which fails atomically when the target exists; If-Match writes
// compare and rename while holding an flock(2) on a per-directory lock file,
// which serialises them against every other writer of that directory, in this
// process or another one.
//
// Every access goes through an os.Root opened on the root directory, so no
// key, and no symbolic link planted in the tree (a linked <project> or
// bundles directory), ever reaches a file outside it. Only regular files
// are read. Temporary files that a killed writer left behind are removed
// once they are StaleTemp old, by the next write to their directory or the
// next List that walks it.
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
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// lockName is the per-directory lock file. Its leading dot keeps it out of
// List and out of the key space (blob.CheckKey rejects dot segments).
const lockName = ".edgeflag.lock"

// tmpPrefix starts the names of temporary files.
const tmpPrefix = ".tmp-"

// StaleTemp is how old a temporary file must be before it counts as left
// behind by a killed writer and is removed. A live write holds its
// temporary file for the time of one write and fsync, far less than this.
const StaleTemp = time.Hour

// Store is a directory-backed blob.Blob.
type Store struct {
	dir  string // absolute
	root *os.Root
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
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	return &Store{dir: abs, root: root}, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.dir }

// name checks a key and returns it as a name relative to the root.
func name(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	return filepath.FromSlash(key), nil
}

// ETag returns the ETag the store gives to content.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Get reads an object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	n, err := name(key)
	if err != nil {
		return nil, "", fmt.Errorf("get object: %w", err)
	}
	data, err := s.read(n)
	if err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	return data, ETag(data), nil
}

// read returns a regular file's content; a missing file (or a missing
// directory on its path) is blob.ErrNotFound. The file is opened
// non-blocking so that a named pipe planted in the tree cannot block.
func (s *Store) read(n string) ([]byte, error) {
	f, err := s.root.OpenFile(n, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, blob.ErrNotFound
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (mode %s)", n, fi.Mode().Type())
	}
	return io.ReadAll(f)
}

// Put writes an object atomically under cond.
func (s *Store) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	if err := cond.Validate(); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	n, err := name(key)
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	if err := s.put(n, data, cond); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	return nil
}

func (s *Store) put(n string, data []byte, cond blob.Cond) error {
	dir := filepath.Dir(n)
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := s.writeTemp(dir, data)
	if err != nil {
		return err
	}
	defer s.root.Remove(tmp) // fails harmlessly after a rename; removes the link source otherwise

	unlock, err := s.lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()

	switch {
	case cond.CreateOnly:
		if err := s.root.Link(tmp, n); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return blob.ErrPreconditionFailed
			}
			return err
		}
	case cond.IfMatch != "":
		cur, err := s.read(n)
		if errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("object absent: %w", blob.ErrPreconditionFailed)
		}
		if err != nil {
			return err
		}
		if ETag(cur) != cond.IfMatch {
			return fmt.Errorf("etag changed: %w", blob.ErrPreconditionFailed)
		}
		if err := s.root.Rename(tmp, n); err != nil {
			return err
		}
	default:
		if err := s.root.Rename(tmp, n); err != nil {
			return err
		}
	}
	if err := s.syncDir(dir); err != nil {
		return err
	}
	s.removeStaleTemps(dir, time.Now())
	return nil
}

// List returns the keys under prefix, sorted. Temporary and lock files are
// never listed; stale temporary files in the directories walked are
// removed.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	// Walk the deepest directory the prefix names completely.
	start := "."
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dirPart := prefix[:i]
		if err := blob.CheckKey(dirPart); err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		start = dirPart
	}
	now := time.Now()
	var keys []string
	err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != start {
				return fs.SkipDir
			}
			s.removeStaleTemps(filepath.FromSlash(p), now)
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if strings.HasPrefix(p, prefix) {
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list objects %q: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// removeStaleTemps removes the temporary files in dir that are StaleTemp
// old at now. Failures are ignored: a leftover is retried on the next
// write or List.
func (s *Store) removeStaleTemps(dir string, now time.Time) {
	d, err := s.root.Open(dir)
	if err != nil {
		return
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) >= StaleTemp {
			s.root.Remove(path.Join(filepath.ToSlash(dir), e.Name()))
		}
	}
}

// writeTemp writes data to a new temporary file in dir and fsyncs it.
func (s *Store) writeTemp(dir string, data []byte) (string, error) {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	n := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := s.root.OpenFile(n, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(n)
		return "", err
	}
	return n, nil
}

// lockDir takes an exclusive flock on dir's lock file.
func (s *Store) lockDir(dir string) (func(), error) {
	f, err := s.root.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
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
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
