package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/s3store"
)

// condAPI serves one object with ETag "e2" and answers a matching
// If-None-Match the way the SDK reports S3's 304: an error.
type condAPI struct {
	fakeAPI
	sent   *s3.GetObjectInput
	notMod error
}

func (f *condAPI) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.sent = in
	if aws.ToString(in.IfNoneMatch) == `"e2"` {
		return nil, f.notMod
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader([]byte("body"))), ETag: aws.String(`"e2"`)}, nil
}

func TestGetIfNoneMatch(t *testing.T) {
	resp304 := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 304}}, Err: errors.New("not modified")}
	for _, notMod := range []error{resp304, &smithy.GenericAPIError{Code: "NotModified"}} {
		f := &condAPI{notMod: notMod}
		s, err := s3store.New(f, "b", "pre")
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		data, etag, err := s.GetIfNoneMatch(ctx, "k", `"e1"`)
		if err != nil || string(data) != "body" || etag != `"e2"` {
			t.Fatalf("stale etag: %q, %q, %v", data, etag, err)
		}
		if aws.ToString(f.sent.IfNoneMatch) != `"e1"` || aws.ToString(f.sent.Key) != "pre/k" {
			t.Errorf("sent %+v, want If-None-Match \"e1\" on pre/k", f.sent)
		}
		data, etag, err = s.GetIfNoneMatch(ctx, "k", `"e2"`)
		if !errors.Is(err, blob.ErrNotModified) || data != nil || etag != `"e2"` {
			t.Fatalf("current etag (%v): %q, %q, %v; want ErrNotModified", notMod, data, etag, err)
		}
		if _, _, err := s.GetIfNoneMatch(ctx, "k", ""); err != nil || f.sent.IfNoneMatch != nil {
			t.Fatalf("empty etag: %v, sent If-None-Match %v", err, f.sent.IfNoneMatch)
		}
	}
	// Other errors keep their mapping.
	f := &condAPI{fakeAPI: fakeAPI{getErr: &smithy.GenericAPIError{Code: "NoSuchKey"}}}
	f.notMod = &smithy.GenericAPIError{Code: "NoSuchKey"}
	s, _ := s3store.New(f, "b", "")
	if _, _, err := s.GetIfNoneMatch(context.Background(), "k", `"e2"`); !errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrNotModified) {
		t.Fatalf("missing object: %v, want ErrNotFound", err)
	}
}
