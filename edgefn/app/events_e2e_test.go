package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
	"github.com/edgeflag/edgeflag/edgefn/internal/lambdart"
	"github.com/edgeflag/edgeflag/publisher/cli"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

// edgefnBinary is edgefn built as the Lambda bootstrap is (devenv.Edgefn).
func edgefnBinary(t *testing.T) string { return devenv.Edgefn(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	devenv.RemoveBuilds()
	os.Exit(code)
}

// publishExperiment publishes examples/shop again (the next version),
// with its experiment checkout-color running from an hour ago to a day
// from now, through the real CLI.
func publishExperiment(t *testing.T, dir string, now time.Time) {
	t.Helper()
	cfg := filepath.Join(dir, "config")
	if err := os.CopyFS(cfg, os.DirFS("../../examples/shop")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg, "experiments.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("start: 2026-12-01T00:00:00Z", "start: "+now.Add(-time.Hour).Format(time.RFC3339),
		"end: 2027-01-01T00:00:00Z", "end: "+now.Add(24*time.Hour).Format(time.RFC3339), "minimumSample: 1000", "minimumSample: 50").Replace(string(data))
	if text == string(data) {
		t.Fatal("examples/shop/experiments.yaml changed: update the test")
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if code := cli.Main(context.Background(), []string{"publish", cfg, "--env", "production", "--key", filepath.Join(dir, "signing.key"),
		"--store", "file://" + filepath.Join(dir, "store"), "--reason", "experiment", "--actor", "test"}, nil, &out, &errOut, func(string) string { return "" }); code != 0 {
		t.Fatalf("publish: exit %d: %s", code, errOut.String())
	}
}

// storedEvents reads every event batch of shop/production in dir's store.
func storedEvents(t *testing.T, dir string) []eventlog.Event {
	t.Helper()
	fs, err := filestore.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var out []eventlog.Event
	s := &eventlog.Scan{Store: fs, Project: "shop", Env: "production", Kind: eventlog.KindEvents, From: time.Now().Add(-48 * time.Hour), To: time.Now().Add(2 * time.Hour),
		Bad: func(k string, l int, err error) { t.Errorf("%s:%d: %v", k, l, err) }}
	if _, err := s.Events(context.Background(), eventlog.DecodeOptions{}, func(_ string, e *eventlog.Event) error { out = append(out, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

type caller struct {
	t      *testing.T
	base   string
	client *http.Client
}

func (c caller) post(path, body string, hdr ...string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (c caller) track(body string, hdr ...string) map[string]any {
	c.t.Helper()
	status, _, b := c.post("/v1/track", body, hdr...)
	if status != 202 {
		c.t.Fatalf("track: %d %s", status, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func conversion(id, unit string, at time.Time) string {
	u := ""
	if unit != "" {
		u = `,"unit":"` + unit + `"`
	}
	return `{"id":"` + id + `","type":"conversion","name":"purchase","timestamp":"` + at.UTC().Format(time.RFC3339Nano) + `"` + u + `}`
}

// TestLambdaWritesEventsAfterResponsesAndOnShutdown runs the real
// bootstrap under the in-repo Runtime API with freezing between
// invocations: tracked events wait in memory until their age limit, are
// then written by the internal extension after an invocation's response
// (nothing runs while frozen), and the rest are written on the SIGTERM
// Lambda sends before it removes the environment.
func TestLambdaWritesEventsAfterResponsesAndOnShutdown(t *testing.T) {
	dir, _ := devSetup(t)
	srv, err := lambdart.Start(lambdart.Config{Freeze: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := []string{"EDGEFN_STORE=file://" + filepath.Join(dir, "store"), "EDGEFN_PROJECT=shop", "EDGEFN_ENV=production",
		"EDGEFN_JWKS=" + filepath.Join(dir, "signing.key.jwks.json"), "EDGEFN_API_KEYS=" + filepath.Join(dir, "api-keys.yaml"),
		"EDGEFN_TOKEN_KEY=" + filepath.Join(dir, "token.key"), "EDGEFN_CACHE_DIR=" + filepath.Join(dir, "cache"), "EDGEFN_EVENTS_MAX_AGE=1s"}
	proc, err := srv.StartProcess(edgefnBinary(t), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitInit(ctx); err != nil {
		t.Fatalf("%v\n%s", err, proc.Output())
	}
	exts := srv.Extensions()
	if len(exts) != 1 || exts[0].Name != "edgefn-events" || strings.Join(exts[0].Events, ",") != "INVOKE" || exts[0].External {
		t.Fatalf("extensions %+v", exts)
	}
	c := caller{t: t, base: "https://fn.lambda-url.us-east-1.on.aws", client: &http.Client{Transport: srv.Transport()}}
	key := []string{"X-API-Key", apiKey}
	now := time.Now()
	if m := c.track(`{"events":[`+conversion("a", "u1", now)+`,`+conversion("b", "u2", now)+`,`+conversion("a", "u1", now)+`]}`, key...); m["accepted"] != 2.0 || m["duplicates"] != 1.0 {
		t.Fatalf("track: %v", m)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(storedEvents(t, dir)); n != 0 {
		t.Fatalf("%d events written before their age limit", n)
	}
	time.Sleep(1200 * time.Millisecond) // frozen: nothing can write them now
	if n := len(storedEvents(t, dir)); n != 0 {
		t.Fatalf("%d events written while frozen", n)
	}
	if status, _, b := c.post("/ofrep/v1/evaluate/flags/new-checkout", `{"context":{"targetingKey":"u1"}}`, key...); status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	if err := srv.WaitIdle(ctx); err != nil { // the extension wrote them after the response
		t.Fatal(err)
	}
	if got := storedEvents(t, dir); len(got) != 2 {
		t.Fatalf("after an invocation past the age limit: %d events\n%s", len(got), proc.Output())
	}
	c.track(`{"events":[`+conversion("c", "u3", now)+`]}`, key...)
	rep, err := srv.Shutdown(ctx, lambdart.ReasonSpindown)
	if err != nil || !rep.Signaled || !rep.Exited || rep.Killed || rep.ExitErr != nil {
		t.Fatalf("shutdown %+v %v\n%s", rep, err, proc.Output())
	}
	got := storedEvents(t, dir)
	if len(got) != 3 {
		t.Fatalf("after SIGTERM: %d events\n%s", len(got), proc.Output())
	}
	if !strings.Contains(proc.Output(), `"msg":"events written"`) {
		t.Fatalf("no shutdown flush logged:\n%s", proc.Output())
	}
	t.Logf("shutdown took %v of %v", rep.Elapsed, rep.Limit)
}

// TestExperimentEndToEnd is the acceptance test: publish an
// experiment, drive exposures through evaluations and /v1/track and
// conversions through /v1/track against a real `edgefn serve` process,
// stop it with SIGTERM, and check what `edgeflag results` prints.
func TestExperimentEndToEnd(t *testing.T) {
	dir, args := devSetup(t)
	now := time.Now().UTC()
	publishExperiment(t, dir, now)
	// events-max-age 1h: nothing is written before the SIGTERM.
	cmd := exec.Command(edgefnBinary(t), append(args, "--events-max-age", "1h")...)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var base string
	for deadline := time.Now().Add(15 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(filepath.Join(dir, "ready")); err == nil && len(data) > 0 {
			base = strings.TrimSpace(string(data))
		}
	}
	if base == "" {
		t.Fatalf("edgefn serve not ready:\n%s", errOut.String())
	}
	c := caller{t: t, base: base, client: http.DefaultClient}
	key := []string{"X-API-Key", apiKey}
	// Served to the unit: a staff e-mail takes new-checkout, which sends
	// checkout-button-color to its 50/25/25 split on accountId.
	evaluate := func(i int, hdr ...string) string {
		ctx := fmt.Sprintf(`{"context":{"targetingKey":"u%d","accountId":"acct-%d","email":"u%d@example.com"}}`, i, i, i)
		status, _, b := c.post("/ofrep/v1/evaluate/flags/checkout-button-color", ctx, append(key, hdr...)...)
		var r struct {
			Variant, Reason string
			Metadata        map[string]any
		}
		if status != 200 || json.Unmarshal(b, &r) != nil || r.Reason != "SPLIT" || r.Metadata["experiment"] != "checkout-color" {
			t.Fatalf("evaluate u%d: %d %s", i, status, b)
		}
		return r.Variant
	}
	variant := map[int]string{}
	exposed := map[string]int{}
	converted := map[string]int{}
	// 600 units evaluated by servers: edgefn records their exposures.
	for i := 0; i < 600; i++ {
		variant[i] = evaluate(i)
		evaluate(i) // seen again: one exposure
	}
	// 300 units evaluated in the browser: the page learns its variant
	// without an exposure, shows it, and tracks the exposure itself with
	// its client token.
	for i := 600; i < 900; i++ {
		variant[i] = evaluate(i, "X-Edgeflag-Exposures", "off")
		status, _, b := c.post("/v1/tokens", fmt.Sprintf(`{"subject":"u%d","scopes":["track"],"ttlSeconds":600}`, i), key...)
		var tok struct{ Token string }
		if status != 200 || json.Unmarshal(b, &tok) != nil {
			t.Fatalf("token: %d %s", status, b)
		}
		body := fmt.Sprintf(`{"events":[{"id":"x%d","type":"exposure","flagKey":"checkout-button-color","variant":"%s","timestamp":"%s","unit":"forged"}]}`,
			i, variant[i], time.Now().UTC().Format(time.RFC3339Nano))
		c.track(body, "Authorization", "Bearer "+tok.Token)
		c.track(body, "Authorization", "Bearer "+tok.Token) // a retry: a duplicate
		if i%3 == 0 {                                       // converts, through the browser too
			c.track(`{"events":[`+conversion(fmt.Sprint("c", i), "", time.Now().Add(time.Second))+`]}`, "Authorization", "Bearer "+tok.Token)
		}
	}
	// Server-side conversions: units divisible by 4, 5 or 7 by variant.
	rate := map[string]int{"control": 4, "green": 5, "orange": 7}
	var batch []string
	for i := 0; i < 600; i++ {
		if i%rate[variant[i]] == 0 {
			batch = append(batch, conversion(fmt.Sprint("c", i), fmt.Sprint("u", i), time.Now().Add(time.Second)))
		}
	}
	for len(batch) > 0 {
		n := min(len(batch), 100)
		c.track(`{"events":[`+strings.Join(batch[:n], ",")+`]}`, key...)
		batch = batch[n:]
	}
	// A conversion before any exposure does not count.
	c.track(`{"events":[`+conversion("early", "u-new", now.Add(-time.Minute))+`]}`, key...)
	for i := 0; i < 900; i++ {
		exposed[variant[i]]++
		if (i < 600 && i%rate[variant[i]] == 0) || (i >= 600 && i%3 == 0) {
			converted[variant[i]]++
		}
	}
	if len(storedEvents(t, dir)) != 0 {
		t.Fatal("events written before the SIGTERM")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("edgefn serve: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "edgefn: stopped") || !strings.Contains(errOut.String(), `"msg":"events written"`) {
		t.Fatalf("stdout %q\nstderr %s", out.String(), errOut.String())
	}

	var so, se strings.Builder
	code := cli.Main(context.Background(), []string{"results", "checkout-color", "--store", "file://" + filepath.Join(dir, "store"),
		"--project", "shop", "--env", "production", "--json", "--jwks", filepath.Join(dir, "signing.key.jwks.json")}, nil, &so, &se, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("results: exit %d: %s", code, se.String())
	}
	var r experiment.Results
	if err := json.Unmarshal([]byte(so.String()), &r); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, v := range r.Variants {
		total += v.Exposed
		if v.Exposed != exposed[v.Variant] || v.Converted != converted[v.Variant] {
			t.Errorf("%s: %d exposed, %d converted; served %d, converted %d", v.Variant, v.Exposed, v.Converted, exposed[v.Variant], converted[v.Variant])
		}
		// The Wilson bounds solve (p̂ − p)² = z² p(1−p)/n.
		n, ph := float64(v.Exposed), v.Rate
		for _, p := range v.RateCI {
			if d := (ph-p)*(ph-p) - experiment.Z95*experiment.Z95*p*(1-p)/n; math.Abs(d) > 1e-12 {
				t.Errorf("%s: %v is not a Wilson bound (%g)", v.Variant, p, d)
			}
		}
	}
	if total != 900 || r.Quality.Duplicates != 0 || r.Quality.MultipleVariants != 0 || r.Quality.ConvertedNotExposed != 1 || !r.SampleReached {
		t.Fatalf("results %+v", r)
	}
	// The sample-ratio test by hand: chi-square with 2 degrees of freedom
	// against 50/25/25 has p = exp(−X²/2).
	x2 := 0.0
	for _, v := range r.Variants {
		e := 900 * map[string]float64{"control": 0.5, "green": 0.25, "orange": 0.25}[v.Variant]
		x2 += (float64(v.Exposed) - e) * (float64(v.Exposed) - e) / e
	}
	if r.SRMPValue == nil || math.Abs(*r.SRMPValue-math.Exp(-x2/2)) > 1e-9 {
		t.Fatalf("srm %v, by hand %v", r.SRMPValue, math.Exp(-x2/2))
	}
	// And the text report names them.
	so.Reset()
	if code := cli.Main(context.Background(), []string{"results", "checkout-color", "--store", "file://" + filepath.Join(dir, "store"),
		"--project", "shop", "--env", "production"}, nil, &so, &se, func(string) string { return "" }); code != 0 {
		t.Fatal(se.String())
	}
	for _, v := range []string{"control", "green", "orange"} {
		if !strings.Contains(so.String(), fmt.Sprintf("%s    ", v)) && !strings.Contains(so.String(), v+" ") {
			t.Fatalf("text report without %s:\n%s", v, so.String())
		}
	}
	t.Logf("results:\n%s", so.String())
}
