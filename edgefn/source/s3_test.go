package source_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
	"github.com/edgeflag/edgeflag/edgefn/source"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/store/s3store"
)

// fakeS3 answers path-style GetObject for objects of a file store, with
// If-None-Match, and can be switched to answer 500s. It exercises the real
// S3 client and s3store's error mapping (the integration tests do the same
// against versitygw).
type fakeS3 struct {
	objects *filestore.Store
	mu      sync.Mutex
	status  int // when non-zero, every request answers this
	log     []string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status := f.status
	f.log = append(f.log, r.Method+" "+r.URL.Path+" "+r.Header.Get("If-None-Match"))
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		w.Write([]byte(`<?xml version="1.0"?><Error><Code>InternalError</Code><Message>boom</Message></Error>`))
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/bucket/")
	data, etag, err := f.objects.Get(r.Context(), key)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>missing</Message></Error>`))
		return
	}
	q := `"` + etag + `"`
	if r.Header.Get("If-None-Match") == q {
		w.Header().Set("ETag", q)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", q)
	w.Write(data)
}

func (f *fakeS3) setStatus(s int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = s
}

func (f *fakeS3) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func s3Source(t *testing.T, url string, key testbundle.Key) (source.Config, error) {
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(url), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
		Retryer:     aws.NopRetryer{},
	})
	st, err := s3store.New(client, "bucket", "")
	if err != nil {
		return source.Config{}, err
	}
	keys, err := source.ParseJWKS(key.JWKS)
	if err != nil {
		return source.Config{}, err
	}
	return source.Config{Store: st, Keys: keys, Project: project, Environment: env,
		Timeout: 2 * time.Second, Now: func() time.Time { return t0 }}, nil
}

func TestS3SourceConditionalRefreshAnd500s(t *testing.T) {
	objects, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := testbundle.NewKey(t)
	testbundle.Place(t, objects, project, env, testbundle.Make(t, testbundle.Flags, env, key, 1, t0.Add(-time.Hour), 24*time.Hour))
	fake := &fakeS3{objects: objects}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg, err := s3Source(t, srv.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := source.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := fake.requests()
	last := reqs[len(reqs)-1]
	if !strings.HasPrefix(last, "GET /bucket/"+store.PointerKey(project, env)+` "`) {
		t.Fatalf("refresh sent %q, want a conditional pointer read", last)
	}
	if n := len(reqs); n != 4 { // pointer, server, client bundle, conditional pointer
		t.Fatalf("requests %v", reqs)
	}

	fake.setStatus(http.StatusInternalServerError)
	err = s.Refresh(context.Background())
	var re *source.RefreshError
	if !errors.As(err, &re) || re.Reason != source.ReasonStore || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Refresh against 500s = %v", err)
	}
	if st := s.Status(); st.Version != 1 || !st.LastKnownGood() {
		t.Fatalf("status %+v", st)
	}
	fake.setStatus(0)
	testbundle.Place(t, objects, project, env, testbundle.Make(t, testbundle.Flags, env, key, 2, t0.Add(-time.Hour), 24*time.Hour))
	if err := s.Refresh(context.Background()); err != nil || s.Current().Version != 2 {
		t.Fatalf("after recovery: %v, version %d", err, s.Current().Version)
	}
}

func TestS3SourceStoreDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg, err := s3Source(t, "http://"+addr, testbundle.NewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = source.Open(context.Background(), cfg)
	if !errors.Is(err, source.ErrNoBundle) || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Open against a closed port = %v", err)
	}
}
