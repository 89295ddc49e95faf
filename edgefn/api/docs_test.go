package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/events"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
)

// docExample is one request of docs/api.md and the answer the document
// promises.
type docExample struct {
	line     int
	request  string
	response string
}

// docExamples extracts every ```http request block and the ```http
// response block after it.
func docExamples(t *testing.T, path string) []docExample {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	var block []string
	in, start := false, 0
	var pending *docExample
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case !in && l == "```http":
			in, block, start = true, nil, i+2
		case in && l == "```":
			in = false
			text := strings.Join(block, "\n")
			if strings.HasPrefix(text, "HTTP/1.1 ") {
				if pending == nil {
					t.Fatalf("%s:%d: a response without a request", path, start)
				}
				pending.response = text
				out = append(out, *pending)
				pending = nil
			} else {
				if pending != nil {
					t.Fatalf("%s:%d: request without a response", path, pending.line)
				}
				pending = &docExample{line: start, request: text}
			}
		case in:
			block = append(block, l)
		}
	}
	if pending != nil {
		t.Fatalf("%s:%d: request without a response", path, pending.line)
	}
	return out
}

// matches compares a documented JSON value with an actual one; the string
// "..." in the document matches any value.
func matches(doc, got any) bool {
	if s, ok := doc.(string); ok && s == "..." {
		return true
	}
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(d) {
			return false
		}
		for k, v := range d {
			gv, ok := g[k]
			if !ok || !matches(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(d) {
			return false
		}
		for i := range d {
			if !matches(d[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(doc, got)
}

// TestDocExamples runs every example of docs/api.md against the handler
// serving examples/shop and checks status, the documented headers and the
// body.
func TestDocExamples(t *testing.T) {
	env := fixture.NewDir(t, "../../examples/shop")
	w, err := events.NewWriter(events.Config{Store: env.Store, Project: fixture.Project, Environment: fixture.Environment, Now: env.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := serverFor(t, env, func(c *api.Config) {
		c.Track = &events.Track{Writer: w, Now: env.Now}
		c.Exposures = &events.Exposures{Writer: w, Environment: fixture.Environment}
	})
	vars := map[string]string{
		"API_KEY": fixture.Backend,
		"TOKEN": env.Mint(auth.TokenRequest{Subject: "user-123", Attributes: map[string]any{"plan": "pro", "country": "US"},
			Scopes: []string{"bootstrap", "evaluate", "track"}}),
		"PARTIAL_TOKEN": env.Mint(auth.TokenRequest{Subject: "user-123", Flags: []string{"new-checkout"}, Scopes: []string{"bootstrap", "evaluate"}}),
	}
	exs := docExamples(t, "../../docs/api.md")
	if len(exs) < 15 {
		t.Fatalf("only %d examples in docs/api.md", len(exs))
	}
	for _, ex := range exs {
		req := os.Expand(ex.request, func(k string) string { return vars[k] })
		rd := bufio.NewReader(strings.NewReader(req + "\n"))
		line, _ := rd.ReadString('\n')
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("docs/api.md:%d: request line %q", ex.line, line)
		}
		hreq, err := http.NewRequest(f[0], s.srv.URL+f[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			h, _ := rd.ReadString('\n')
			h = strings.TrimRight(h, "\n")
			if h == "" {
				break
			}
			k, v, _ := strings.Cut(h, ": ")
			hreq.Header.Add(k, v)
		}
		body, _ := io.ReadAll(rd)
		if b := strings.TrimSpace(string(body)); b != "" {
			hreq.Body = io.NopCloser(strings.NewReader(b))
			hreq.ContentLength = int64(len(b))
		}
		resp, err := s.http.Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if et := resp.Header.Get("ETag"); et != "" {
			vars["LAST_ETAG"] = et
		}
		// The documented answer.
		rr := bufio.NewReader(strings.NewReader(ex.response + "\n"))
		status, _ := rr.ReadString('\n')
		sf := strings.Fields(status)
		if sf[1] != itoa(int64(resp.StatusCode)) {
			t.Errorf("docs/api.md:%d: %s %s answered %d, the document says %s: %s", ex.line, f[0], f[1], resp.StatusCode, sf[1], got)
			continue
		}
		for {
			h, _ := rr.ReadString('\n')
			h = strings.TrimRight(h, "\n")
			if h == "" {
				break
			}
			k, v, _ := strings.Cut(h, ": ")
			if g := resp.Header.Get(k); v != "..." && g != v || v == "..." && g == "" {
				t.Errorf("docs/api.md:%d: header %s is %q, the document says %q", ex.line, k, g, v)
			}
		}
		want, _ := io.ReadAll(rr)
		w := strings.TrimSpace(string(want))
		switch {
		case w == "...":
			if len(got) == 0 {
				t.Errorf("docs/api.md:%d: empty body", ex.line)
			}
		case w == "":
			if len(got) != 0 {
				t.Errorf("docs/api.md:%d: body %q, the document shows none", ex.line, got)
			}
		default:
			var dv, gv any
			if err := json.Unmarshal([]byte(w), &dv); err != nil {
				t.Fatalf("docs/api.md:%d: documented body is not JSON: %v", ex.line, err)
			}
			if err := json.Unmarshal(got, &gv); err != nil || !matches(dv, gv) {
				t.Errorf("docs/api.md:%d: %s %s body\n got %s\nwant %s", ex.line, f[0], f[1], got, w)
			}
		}
	}
}
