package store

import (
	"context"
	"fmt"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// ReadPointerIfNoneMatch is ReadPointer for a reader that only reads (a
// serving process polling for new versions) and already holds the pointer
// with ETag etag: an unchanged pointer is an error wrapping
// blob.ErrNotModified, answered without a body by stores with conditional
// reads; a changed one is decoded and checked like ReadPointer's. An empty
// etag always reads.
func ReadPointerIfNoneMatch(ctx context.Context, g blob.Getter, project, env, etag string) (*Pointer, string, error) {
	if err := checkProjectEnv(project, env); err != nil {
		return nil, "", fmt.Errorf("read pointer: %w", err)
	}
	data, got, err := blob.GetIfNoneMatch(ctx, g, PointerKey(project, env), etag)
	if err != nil {
		return nil, got, fmt.Errorf("read pointer: %w", err)
	}
	ptr, err := decodePointer(data, project, env)
	if err != nil {
		return nil, "", fmt.Errorf("read pointer %s: %w", PointerKey(project, env), err)
	}
	return ptr, got, nil
}
