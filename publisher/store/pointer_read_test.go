package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

func TestReadPointerIfNoneMatch(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := store.ReadPointerIfNoneMatch(ctx, fs, "shop", "prod", ""); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("nothing published: %v, want ErrNotFound", err)
	}
	p := store.NewPublisher(fs)
	p.Now = func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	publish := func() {
		h, err := p.Head(ctx, "shop", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Publish(ctx, h, store.Request{Action: store.ActionPublish, Actor: "t",
			Bundles: map[string][]byte{"server": []byte("s"), "client": []byte("c")}}); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	ptr, etag, err := store.ReadPointerIfNoneMatch(ctx, fs, "shop", "prod", "")
	if err != nil || ptr.Version != 1 || etag == "" {
		t.Fatalf("first read: %+v %q %v", ptr, etag, err)
	}
	if ptr, got, err := store.ReadPointerIfNoneMatch(ctx, fs, "shop", "prod", etag); !errors.Is(err, blob.ErrNotModified) || ptr != nil || got != etag {
		t.Fatalf("unchanged: %+v %q %v, want ErrNotModified", ptr, got, err)
	}
	publish()
	ptr, etag2, err := store.ReadPointerIfNoneMatch(ctx, fs, "shop", "prod", etag)
	if err != nil || ptr.Version != 2 || etag2 == etag {
		t.Fatalf("after a publish: %+v %q %v", ptr, etag2, err)
	}
	// A pointer for another environment, or garbage, is an error, never a pointer.
	if err := fs.Put(ctx, store.PointerKey("shop", "prod"), []byte(`{"format":1,"project":"shop","environment":"dev","version":3,"digests":{"server":"x"}}`), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if ptr, _, err := store.ReadPointerIfNoneMatch(ctx, fs, "shop", "prod", etag2); !errors.Is(err, store.ErrInvalidPointer) {
		t.Fatalf("foreign pointer accepted: %+v %v", ptr, err)
	}
	if _, _, err := store.ReadPointerIfNoneMatch(ctx, fs, "../x", "prod", ""); err == nil {
		t.Fatal("bad project accepted")
	}
}
