package soak_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/bench/soak"
)

// fake is a stand-in edgefn with two flags whose version moves on with
// every publish; bad breaks one kind of answer.
func fake(t *testing.T, bad string) (*httptest.Server, func(context.Context) error) {
	var version atomic.Uint64
	version.Store(1)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := version.Load()
		i := n.Add(1)
		if bad == "back" && i%50 == 0 {
			v-- // an older bundle answers now and then
		}
		switch r.URL.Path {
		case "/metrics":
			fmt.Fprintf(w, "edgefn_bundle_version %d\nedgefn_go_goroutines 7\n", version.Load())
		case "/ofrep/v1/evaluate/flags/f2":
			if bad == "500" && i%50 == 0 {
				http.Error(w, "boom", 500)
				return
			}
			fmt.Fprintf(w, `{"key":"f2","value":"senior","reason":"TARGETING_MATCH","variant":"senior","metadata":{"version":%d}}`, v)
		case "/ofrep/v1/evaluate/flags":
			etag := fmt.Sprintf(`"%d"`, v)
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(304)
				return
			}
			flags := `{"key":"f1","value":true},{"key":"f2","value":"senior"}`
			if bad == "short" {
				flags = `{"key":"f1","value":true}`
			}
			fmt.Fprintf(w, `{"flags":[%s],"metadata":{"version":%d}}`, flags, v)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func(context.Context) error { version.Add(1); return nil }
}

// TestSoakCatches: against a server that answers right the soak reports
// no error; one 500, one bulk answer short of a flag, or a version going
// back is reported.
func TestSoakCatches(t *testing.T) {
	for _, bad := range []string{"", "500", "short", "back"} {
		srv, publish := fake(t, bad)
		rep, err := soak.Run(context.Background(), soak.Config{URL: srv.URL, Flags: 2, Publish: publish,
			Duration: 400 * time.Millisecond, Republish: 50 * time.Millisecond, Sample: 100 * time.Millisecond, Conns: 2})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case bad == "" && (rep.Errors != 0 || rep.Published < 3 || rep.LastVersion != rep.FirstVersion+uint64(rep.Published)):
			t.Errorf("a right server: %d errors %q, %d published, %d -> %d", rep.Errors, rep.Problems, rep.Published, rep.FirstVersion, rep.LastVersion)
		case bad != "" && rep.Errors == 0:
			t.Errorf("%s: no error reported (%d requests)", bad, rep.Requests)
		case bad != "" && !strings.Contains(strings.Join(rep.Problems, "\n"), map[string]string{"500": "500", "short": "1 flags", "back": "after"}[bad]):
			t.Errorf("%s: problems %q", bad, rep.Problems)
		}
		if bad == "" && rep.NotModified == 0 {
			t.Errorf("no bulk request sent its ETag")
		}
	}
}
