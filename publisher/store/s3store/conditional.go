package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// GetIfNoneMatch reads an object with GetObject's If-None-Match, so an
// unchanged object costs a 304 without a body; that answer is an error
// wrapping blob.ErrNotModified (with the ETag the caller already holds).
// An empty etag reads unconditionally.
func (s *Store) GetIfNoneMatch(ctx context.Context, key, etag string) ([]byte, string, error) {
	if etag == "" {
		return s.Get(ctx, key)
	}
	if err := blob.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("get object: %w", err)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), IfNoneMatch: aws.String(etag),
	})
	if err != nil {
		if notModified(err) {
			return nil, etag, fmt.Errorf("get object %s: %w", key, blob.ErrNotModified)
		}
		return nil, "", fmt.Errorf("get object %s: %w", key, mapError(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	got := aws.ToString(out.ETag)
	if got == etag {
		// A server that ignores If-None-Match still answers correctly.
		return nil, got, fmt.Errorf("get object %s: %w", key, blob.ErrNotModified)
	}
	return data, got, nil
}

// notModified reports an S3 304 answer (the SDK surfaces it as an error).
func notModified(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NotModified" {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified
}

var _ blob.ConditionalGetter = (*Store)(nil)
