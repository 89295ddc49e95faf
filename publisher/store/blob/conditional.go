package blob

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotModified reports that a conditional read found the object unchanged:
// its ETag still equals the one the reader holds (HTTP 304 Not Modified).
var ErrNotModified = errors.New("object not modified")

// Getter is the read half of Blob: what a reader that never writes (a
// serving process polling for new bundles) needs.
type Getter interface {
	// Get returns an object's content and ETag, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
}

// ConditionalGetter is implemented by stores that can answer a read with
// "not modified" without sending the content (S3's If-None-Match).
type ConditionalGetter interface {
	// GetIfNoneMatch is Get unless the object's ETag equals etag, in which
	// case it returns an error wrapping ErrNotModified and no data. An
	// empty etag always reads.
	GetIfNoneMatch(ctx context.Context, key, etag string) (data []byte, newETag string, err error)
}

// GetIfNoneMatch reads key unless its ETag is still etag, in which case the
// error wraps ErrNotModified. It uses g's own conditional read when g has
// one and otherwise reads the object and compares ETags, so every Getter
// works; an empty etag always reads.
func GetIfNoneMatch(ctx context.Context, g Getter, key, etag string) ([]byte, string, error) {
	if cg, ok := g.(ConditionalGetter); ok {
		return cg.GetIfNoneMatch(ctx, key, etag)
	}
	data, got, err := g.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	if etag != "" && got == etag {
		return nil, got, fmt.Errorf("get object %s: %w", key, ErrNotModified)
	}
	return data, got, nil
}
