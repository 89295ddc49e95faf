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

// fakeAPI records the last PutObject and answers with canned errors.
type fakeAPI struct {
	put    *s3.PutObjectInput
	putErr error
	getErr error
}

func (f *fakeAPI) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader([]byte(aws.ToString(in.Key)))), ETag: aws.String(`"e1"`)}, nil
}

func (f *fakeAPI) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.put = in
	return &s3.PutObjectOutput{}, f.putErr
}

func (f *fakeAPI) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return &s3.ListObjectsV2Output{Contents: nil}, nil
}

func TestPutSendsConditions(t *testing.T) {
	f := &fakeAPI{}
	s, err := s3store.New(f, "b", "/pre/fix/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("x"), blob.IfNoneMatch()); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.put.IfNoneMatch) != "*" || f.put.IfMatch != nil || aws.ToString(f.put.Key) != "pre/fix/k" {
		t.Errorf("create-only put sent %+v", f.put)
	}
	if err := s.Put(ctx, "k", []byte("x"), blob.IfMatch(`"e1"`)); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.put.IfMatch) != `"e1"` || f.put.IfNoneMatch != nil {
		t.Errorf("if-match put sent %+v", f.put)
	}
	data, etag, err := s.Get(ctx, "k")
	if err != nil || string(data) != "pre/fix/k" || etag != `"e1"` {
		t.Errorf("Get = %q, %q, %v", data, etag, err)
	}
}

func TestErrorMapping(t *testing.T) {
	resp := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("boom")}
	}
	cases := []struct {
		err  error
		want error
	}{
		{&smithy.GenericAPIError{Code: "PreconditionFailed"}, blob.ErrPreconditionFailed},
		{&smithy.GenericAPIError{Code: "ConditionalRequestConflict"}, blob.ErrPreconditionFailed},
		{&smithy.GenericAPIError{Code: "NoSuchKey"}, blob.ErrNotFound},
		{resp(412), blob.ErrPreconditionFailed},
		{resp(409), blob.ErrPreconditionFailed},
		{resp(404), blob.ErrNotFound},
		{&smithy.GenericAPIError{Code: "NoSuchBucket"}, nil},
		{resp(500), nil},
	}
	for _, c := range cases {
		f := &fakeAPI{putErr: c.err, getErr: c.err}
		s, _ := s3store.New(f, "b", "")
		perr := s.Put(context.Background(), "k", nil, blob.Cond{})
		_, _, gerr := s.Get(context.Background(), "k")
		for _, err := range []error{perr, gerr} {
			if err == nil {
				t.Fatalf("%v: no error", c.err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("%v -> %v, want %v", c.err, err, c.want)
			}
			if c.want == nil && (errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrPreconditionFailed)) {
				t.Errorf("%v mapped to a sentinel: %v", c.err, err)
			}
		}
	}
	if _, err := s3store.New(&fakeAPI{}, "", ""); err == nil {
		t.Error("empty bucket accepted")
	}
}
