package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/store/internal/storetest"
)

func TestConformance(t *testing.T) {
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Conformance(t, s, "p")
}

func TestETagIsSHA256(t *testing.T) {
	s, _ := filestore.New(t.TempDir())
	ctx := context.Background()
	s.Put(ctx, "k", []byte("abc"), blob.Cond{})
	_, etag, err := s.Get(ctx, "k")
	// SHA-256("abc") from FIPS 180-2, appendix B.1.
	if err != nil || etag != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("etag %q, %v", etag, err)
	}
}

// TestReadersNeverSeePartialContent: while writers replace a large object
// with uniform content (all 'a' or all 'b'), and create-only writers race on
// new keys, readers only ever see a whole version; afterwards no temporary
// files remain.
func TestReadersNeverSeePartialContent(t *testing.T) {
	dir := t.TempDir()
	s, _ := filestore.New(dir)
	ctx := context.Background()
	const size = 1 << 20
	versions := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size)}
	if err := s.Put(ctx, "env/obj", versions[0], blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads, torn int
	var mu sync.Mutex
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, _, err := s.Get(ctx, "env/obj")
				mu.Lock()
				reads++
				if err != nil || len(data) != size || (!bytes.Equal(data, versions[0]) && !bytes.Equal(data, versions[1])) {
					torn++
				}
				mu.Unlock()
			}
		}()
	}
	var wins sync.Map
	var ww sync.WaitGroup
	for w := 0; w < 4; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for i := 0; i < 20; i++ {
				if err := s.Put(ctx, "env/obj", versions[(w+i)%2], blob.Cond{}); err != nil {
					t.Error(err)
				}
				key := "env/new" + string(rune('0'+i%10))
				err := s.Put(ctx, key, versions[w%2], blob.IfNoneMatch())
				switch {
				case err == nil:
					if _, dup := wins.LoadOrStore(key, w); dup {
						t.Errorf("two create-only writers won %s", key)
					}
				case !errors.Is(err, blob.ErrPreconditionFailed):
					t.Error(err)
				}
			}
		}()
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	if reads == 0 || torn != 0 {
		t.Fatalf("%d of %d reads saw partial or missing content", torn, reads)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "env"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	keys, _ := s.List(ctx, "env/")
	if len(keys) != 11 { // obj + new0..new9
		t.Errorf("List = %v, want 11 keys and no lock or temporary files", keys)
	}
}

func TestNew(t *testing.T) {
	if _, err := filestore.New(""); err == nil {
		t.Error("empty dir accepted")
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := filestore.New(filepath.Join(file, "sub")); err == nil {
		t.Error("a path below a regular file accepted")
	}
}

// A symbolic link in the store tree that leads out of the root (a linked
// <project> directory, a linked bundles directory, a linked object) is
// never followed: reads, conditional writes and listings through it fail,
// and nothing outside the root is read or written.
func TestNoSymlinkOutOfRoot(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, link string
		through    []string // keys whose path goes through the link
		list       string   // a List prefix through the link ("" for none)
	}{
		{"project", "shop", []string{"shop/production/current.json", "shop/production/bundles/1.server.jws"}, "shop/production/bundles/"},
		{"bundles", "shop/production/bundles", []string{"shop/production/bundles/1.server.jws"}, "shop/production/bundles/"},
		{"object", "shop/production/current.json", []string{"shop/production/current.json"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			outside := t.TempDir()
			secret := filepath.Join(outside, "current.json")
			if err := os.WriteFile(secret, []byte("outside"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			s, err := filestore.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			lp := filepath.Join(dir, filepath.FromSlash(c.link))
			os.MkdirAll(filepath.Dir(lp), 0o755)
			target := outside
			if c.name == "object" {
				target = secret
			}
			if err := os.Symlink(target, lp); err != nil {
				t.Fatal(err)
			}
			for _, key := range c.through {
				if data, _, err := s.Get(ctx, key); err == nil {
					t.Errorf("Get %s through a link out of the root = %q", key, data)
				}
				for _, cond := range []blob.Cond{blob.IfNoneMatch(), blob.IfMatch(filestore.ETag([]byte("outside")))} {
					if err := s.Put(ctx, key, []byte("x"), cond); err == nil {
						t.Errorf("Put %s %+v through a link out of the root succeeded", key, cond)
					}
				}
				// An unconditional write may replace the link itself,
				// never write through it.
				s.Put(ctx, key, []byte("x"), blob.Cond{})
			}
			if c.list != "" {
				if keys, err := s.List(ctx, c.list); err == nil && len(keys) > 0 {
					t.Errorf("List through a link out of the root = %v", keys)
				}
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Errorf("the directory outside the root now holds %d entries", len(ents))
			}
			if data, _ := os.ReadFile(secret); string(data) != "outside" {
				t.Errorf("the file outside the root was changed to %q", data)
			}
		})
	}
}

// A named pipe in the tree is not an object: Get fails at once.
func TestGetRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	s, _ := filestore.New(dir)
	os.MkdirAll(filepath.Join(dir, "p"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "p", "current.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := s.Get(context.Background(), "p/current.json"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Get of a FIFO = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get of a FIFO blocked")
	}
}

// Temporary files left by a killed writer are removed once StaleTemp old,
// by the next write to their directory or the next List walking it; fresh
// ones (a write in progress) stay.
func TestStaleTempFilesRemoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := filestore.New(dir)
	if err := s.Put(ctx, "p/e/audit/1.json", []byte("{}"), blob.IfNoneMatch()); err != nil {
		t.Fatal(err)
	}
	plant := func(rel string, age time.Duration) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }

	staleW := plant("p/e/audit/.tmp-0badc0ffee", filestore.StaleTemp+time.Minute)
	freshW := plant("p/e/audit/.tmp-0000f00d", time.Minute)
	if err := s.Put(ctx, "p/e/audit/2.json", []byte("{}"), blob.IfNoneMatch()); err != nil {
		t.Fatal(err)
	}
	if exists(staleW) || !exists(freshW) {
		t.Errorf("after a write: stale left %v, fresh kept %v", exists(staleW), exists(freshW))
	}

	staleL := plant("p/e/audit/.tmp-1badc0ffee", 2*filestore.StaleTemp)
	keys, err := s.List(ctx, "p/e/audit/")
	if err != nil || len(keys) != 2 {
		t.Fatalf("List = %v, %v", keys, err)
	}
	if exists(staleL) || !exists(freshW) {
		t.Errorf("after a List: stale left %v, fresh kept %v", exists(staleL), exists(freshW))
	}
}
