package blob_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// plainGetter has no conditional read of its own.
type plainGetter map[string]string

func (g plainGetter) Get(_ context.Context, key string) ([]byte, string, error) {
	v, ok := g[key]
	if !ok {
		return nil, "", blob.ErrNotFound
	}
	return []byte(v), "etag-" + v, nil
}

func TestGetIfNoneMatchFallback(t *testing.T) {
	g := plainGetter{"k": "v1"}
	ctx := context.Background()
	data, etag, err := blob.GetIfNoneMatch(ctx, g, "k", "")
	if err != nil || string(data) != "v1" || etag != "etag-v1" {
		t.Fatalf("no etag: %q %q %v", data, etag, err)
	}
	if data, _, err := blob.GetIfNoneMatch(ctx, g, "k", "etag-v1"); !errors.Is(err, blob.ErrNotModified) || data != nil {
		t.Fatalf("current etag: %q %v, want ErrNotModified", data, err)
	}
	g["k"] = "v2"
	if data, etag, err := blob.GetIfNoneMatch(ctx, g, "k", "etag-v1"); err != nil || string(data) != "v2" || etag != "etag-v2" {
		t.Fatalf("stale etag: %q %q %v", data, etag, err)
	}
	if _, _, err := blob.GetIfNoneMatch(ctx, g, "missing", "x"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
