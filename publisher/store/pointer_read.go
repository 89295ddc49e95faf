package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// ErrInvalidPointer is wrapped by ReadPointerIfNoneMatch when the pointer
// object was read but is not a valid pointer for the environment (bad
// JSON, unknown fields or format, another project or environment).
var ErrInvalidPointer = errors.New("invalid pointer")

// ReadPointerIfNoneMatch is ReadPointer for a reader that only reads (a
// serving process polling for new versions) and already holds the pointer
// with ETag etag: an unchanged pointer is an error wrapping
// blob.ErrNotModified, answered without a body by stores with conditional
// reads; a changed one is decoded and checked like ReadPointer's (failures wrap ErrInvalidPointer). An empty
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
		return nil, "", fmt.Errorf("read pointer %s: %w: %w", PointerKey(project, env), ErrInvalidPointer, err)
	}
	return ptr, got, nil
}
