package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/webhook"
)

// TestPublishFiresWebhooks publishes a project whose webhook points at a
// local receiver and checks the signed event it gets; a failing receiver is
// reported and, after validate --store, shown.
func TestPublishFiresWebhooks(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var sigs []string
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		bodies = append(bodies, body)
		sigs = append(sigs, r.Header.Get(webhook.HeaderSignature))
	}))
	defer srv.Close()

	dir := t.TempDir()
	cfg := `project: hooks
environments: [dev]
webhooks:
  - name: relay
    url: ` + srv.URL + `
    secret: env:HOOK_SECRET
    events: [publish]
flags:
  f:
    type: boolean
    environments:
      dev: {default: {serve: on}}
`
	os.WriteFile(filepath.Join(dir, "flags.yaml"), []byte(cfg), 0o644)
	key := keygen(t)
	storeURL := "file://" + t.TempDir()
	publish := func() out {
		e, so, se := newEnv("")
		e.Getenv = func(k string) string {
			if k == "HOOK_SECRET" {
				return "s3cret"
			}
			return ""
		}
		e.HTTPClient = srv.Client()
		e.WebhookSleep = func(context.Context, time.Duration) error { return nil }
		code := e.Run(context.Background(), []string{"publish", dir, "--env", "dev", "--key", key, "--store", storeURL})
		return out{code, so.String(), se.String()}
	}
	o := publish()
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "webhook relay: delivered (200)") {
		t.Errorf("delivery not reported:\n%s", o.stdout)
	}
	mu.Lock()
	if len(bodies) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(bodies))
	}
	if err := webhook.Verify([]byte("s3cret"), sigs[0], bodies[0], time.Now(), 100000*time.Hour); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	var ev webhook.Event
	json.Unmarshal(bodies[0], &ev)
	if ev.Type != "publish" || ev.Project != "hooks" || ev.Environment != "dev" || ev.ToVersion != 1 || ev.Digests["server"] == "" {
		t.Errorf("event %+v", ev)
	}
	fail = true
	mu.Unlock()

	o = publish()
	mustCode(t, o, 0) // the publish happened; the hook failure is a warning
	if !strings.Contains(o.stderr, "webhook relay: delivery failed") {
		t.Errorf("failed delivery not reported:\n%s", o.stderr)
	}
	o = run(t, "validate", dir, "--store", storeURL)
	mustCode(t, o, 0)
	if !strings.Contains(o.stdout, "webhook relay: enabled, 1 consecutive failure(s)") {
		t.Errorf("validate --store does not report the failing webhook:\n%s", o.stdout)
	}
}
