package filestore

import (
	"context"
	"fmt"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// GetIfNoneMatch reads an object unless its ETag equals etag (then the
// error wraps blob.ErrNotModified). ETags are content hashes, so the file is
// read either way; what the caller saves is decoding and verifying it again.
func (s *Store) GetIfNoneMatch(ctx context.Context, key, etag string) ([]byte, string, error) {
	data, got, err := s.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	if etag != "" && got == etag {
		return nil, got, fmt.Errorf("get object %s: %w", key, blob.ErrNotModified)
	}
	return data, got, nil
}

var _ blob.ConditionalGetter = (*Store)(nil)
