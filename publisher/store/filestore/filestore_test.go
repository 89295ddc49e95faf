package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
