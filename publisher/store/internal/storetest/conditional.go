package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// ConditionalGet checks blob.GetIfNoneMatch on b (through b's own
// conditional read when it has one): a current ETag answers
// ErrNotModified without data, a stale or empty one reads the content, and
// a missing object is ErrNotFound. Keys are created under prefix.
func ConditionalGet(t *testing.T, b blob.Blob, prefix string) {
	t.Helper()
	ctx := context.Background()
	k := prefix + "/cond/pointer.json"
	if _, _, err := blob.GetIfNoneMatch(ctx, b, k, "whatever"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("conditional get of a missing object: err = %v, want ErrNotFound", err)
	}
	if err := b.Put(ctx, k, []byte("v1"), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	data, etag1, err := blob.GetIfNoneMatch(ctx, b, k, "")
	if err != nil || string(data) != "v1" || etag1 == "" {
		t.Fatalf("conditional get without etag = %q, %q, %v; want \"v1\" and an etag", data, etag1, err)
	}
	data, etag, err := blob.GetIfNoneMatch(ctx, b, k, etag1)
	if !errors.Is(err, blob.ErrNotModified) || data != nil || etag != etag1 {
		t.Fatalf("conditional get with the current etag = %q, %q, %v; want no data, %q, ErrNotModified", data, etag, err, etag1)
	}
	if err := b.Put(ctx, k, []byte("v2"), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	data, etag2, err := blob.GetIfNoneMatch(ctx, b, k, etag1)
	if err != nil || string(data) != "v2" || etag2 == etag1 {
		t.Fatalf("conditional get with a stale etag = %q, %q, %v; want \"v2\" and a new etag", data, etag2, err)
	}
	if _, _, err := blob.GetIfNoneMatch(ctx, b, k, etag2); !errors.Is(err, blob.ErrNotModified) {
		t.Fatalf("conditional get with the new etag: err = %v, want ErrNotModified", err)
	}
}
