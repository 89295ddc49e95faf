// Package s3store is the s3:// object store, on aws-sdk-go-v2. Conditional
// writes map to PutObject's If-None-Match: * and If-Match: <etag>, which S3
// (and versitygw) enforce atomically; HTTP 412 PreconditionFailed and 409
// ConditionalRequestConflict both become blob.ErrPreconditionFailed.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// API is the part of *s3.Client the store uses.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Options configure Open.
type Options struct {
	Bucket string
	// Prefix is prepended (with a "/") to every key; may be empty.
	Prefix string
	// Region overrides the region of the default chain.
	Region string
	// Endpoint is a custom endpoint such as http://127.0.0.1:7070; when
	// empty, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL apply (the SDK reads
	// them itself).
	Endpoint string
	// PathStyle addresses buckets as endpoint/bucket/key (needed by most
	// S3-compatible servers).
	PathStyle bool
}

// Store is an S3-backed blob.Blob.
type Store struct {
	api    API
	bucket string
	prefix string // "" or ending in "/"
}

// New returns a store over an existing client.
func New(api API, bucket, prefix string) (*Store, error) {
	if bucket == "" {
		return nil, errors.New("open s3 store: empty bucket")
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := blob.CheckKey(prefix); err != nil {
			return nil, fmt.Errorf("open s3 store: prefix: %w", err)
		}
		prefix += "/"
	}
	return &Store{api: api, bucket: bucket, prefix: prefix}, nil
}

// Open builds an S3 client from the default credential chain and opts.
func Open(ctx context.Context, opts Options) (*Store, error) {
	var loadOpts []func(*config.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("open s3 store: load aws config: %w", err)
	}
	if cfg.Region == "" {
		// S3-compatible servers rarely care; SigV4 needs some region.
		cfg.Region = "us-east-1"
	}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = opts.PathStyle
	})
	return New(client, opts.Bucket, opts.Prefix)
}

// Get reads an object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("get object: %w", err)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, mapError(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("get object %s: %w", key, err)
	}
	return data, aws.ToString(out.ETag), nil
}

// Put writes an object under cond.
func (s *Store) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	if err := cond.Validate(); err != nil {
		return fmt.Errorf("put object %s: %w", key, err)
	}
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if cond.CreateOnly {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	if _, err := s.api.PutObject(ctx, in); err != nil {
		err = mapError(err)
		if cond.IfMatch != "" && errors.Is(err, blob.ErrNotFound) {
			// S3 answers If-Match on a missing object with 404 NoSuchKey.
			err = fmt.Errorf("%w: object absent: %v", blob.ErrPreconditionFailed, err)
		}
		return fmt.Errorf("put object %s: %w", key, err)
	}
	return nil
}

// List returns the keys under prefix (relative to the store prefix), sorted.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	var token *string
	for {
		out, err := s.api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix), ContinuationToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list objects %q: %w", prefix, mapError(err))
		}
		for _, o := range out.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), s.prefix))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		token = out.NextContinuationToken
	}
	sort.Strings(keys)
	return keys, nil
}

// mapError turns S3's not-found and precondition errors into the blob
// sentinels, keeping the original text.
func mapError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket", "AccessDenied":
			return err
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %v", blob.ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%w: %v", blob.ErrPreconditionFailed, err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %v", blob.ErrNotFound, err)
		case http.StatusPreconditionFailed, http.StatusConflict:
			return fmt.Errorf("%w: %v", blob.ErrPreconditionFailed, err)
		}
	}
	return err
}
