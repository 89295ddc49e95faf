// Package blob holds the small vocabulary shared by the object stores that
// back edgeflag publishing: the Blob interface, write conditions and the
// sentinel errors. It is a leaf package so that the store implementations
// (filestore, s3store) and their consumers (store, webhook) can share these
// names without importing each other.
package blob

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound reports that an object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrPreconditionFailed reports that a conditional write lost: the object
// existed for a create-only write, or its current ETag differed from the one
// an If-Match write expected (or it was gone).
var ErrPreconditionFailed = errors.New("precondition failed")

// Cond is the condition of a write. The zero value writes unconditionally.
type Cond struct {
	// CreateOnly makes the write fail with ErrPreconditionFailed when the
	// object already exists (HTTP If-None-Match: *).
	CreateOnly bool
	// IfMatch, when not empty, makes the write fail with
	// ErrPreconditionFailed unless the object exists and its ETag equals
	// this value (HTTP If-Match).
	IfMatch string
}

// IfNoneMatch returns the create-only condition.
func IfNoneMatch() Cond { return Cond{CreateOnly: true} }

// IfMatch returns the condition that the object's current ETag is etag.
func IfMatch(etag string) Cond { return Cond{IfMatch: etag} }

// Validate rejects a condition that sets both fields.
func (c Cond) Validate() error {
	if c.CreateOnly && c.IfMatch != "" {
		return errors.New("validate condition: create-only and if-match are exclusive")
	}
	return nil
}

// Blob is a flat key/value object store with conditional writes. Keys are
// slash-separated relative paths ("shop/production/current.json").
type Blob interface {
	// Get returns an object's content and ETag, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
	// Put writes an object atomically under cond; a failed condition is an
	// error wrapping ErrPreconditionFailed.
	Put(ctx context.Context, key string, data []byte, cond Cond) error
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// CheckKey rejects keys that are empty, absolute, contain empty, "." or ".."
// segments, segments starting with "." (reserved for temporary and lock
// files) or backslashes and control characters.
func CheckKey(key string) error {
	if key == "" {
		return errors.New("check key: empty key")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("check key %q: control character or backslash", key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" {
			return fmt.Errorf("check key %q: empty path segment", key)
		}
		if strings.HasPrefix(seg, ".") {
			return fmt.Errorf("check key %q: segment %q starts with a dot", key, seg)
		}
	}
	return nil
}
