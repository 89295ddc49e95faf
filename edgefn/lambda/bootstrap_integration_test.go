//go:build integration

package lambda_test

// The real Lambda bootstrap (cmd/edgefn built -tags lambda.norpc, as
// `make lambda` builds it) driven through the in-repo Runtime API
// (internal/lambdart) with the function-URL event fixtures of testdata:
// answers identical to `edgefn serve`'s, an init error, an invocation
// error, a timeout, refresh on invocation at most once per interval, and
// an S3 store (versitygw, through a proxy that stalls it) slower than the
// refresh timeout and than the function timeout.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
	"github.com/edgeflag/edgeflag/edgefn/internal/lambdart"
	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
	"github.com/edgeflag/edgeflag/edgefn/internal/s3fault"
)

// bootstrap is cmd/edgefn built as `make lambda` builds it.
func bootstrap(t *testing.T) string { return devenv.Edgefn(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	devenv.RemoveBuilds()
	os.Exit(code)
}

// function is one Lambda execution environment running the bootstrap.
type function struct {
	srv  *lambdart.Server
	proc *lambdart.Process
}

// startFunction starts an environment with vars and waits for its Init.
func startFunction(t *testing.T, cfg lambdart.Config, vars []string) *function {
	t.Helper()
	srv, err := lambdart.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	proc, err := srv.StartProcess(bootstrap(t), vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitInit(ctx); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, proc.Output())
	}
	return &function{srv: srv, proc: proc}
}

// fixture reads a testdata event with its placeholders filled in.
func fixtureEvent(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(os.Expand(string(data), func(k string) string {
		q, _ := json.Marshal(vars[k])
		return string(q[1 : len(q)-1])
	}))
}

// invoke sends one event and returns the function URL's answer.
func (f *function) invoke(t *testing.T, payload []byte) (*lambdart.FunctionURLResponse, lambdart.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.srv.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\noutput:\n%s", err, f.proc.Output())
	}
	if res.Status != lambdart.StatusSuccess {
		t.Fatalf("invocation %s: %s %s\noutput:\n%s", res.Status, res.ErrorType, res.Payload, f.proc.Output())
	}
	fr, err := lambdart.ParseFunctionURLResponse(res.Payload)
	if err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	return fr, res
}

// asRequest turns a function-URL event into the HTTP request it stands
// for, to send the same request to `edgefn serve`.
func asRequest(t *testing.T, base string, payload []byte) *http.Request {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = b
	}
	u := base + ev.RawPath
	if ev.RawQueryString != "" {
		u += "?" + ev.RawQueryString
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Headers {
		if k != "host" && k != "content-length" {
			req.Header.Set(k, v)
		}
	}
	return req
}

// serveProcess runs the same binary as `edgefn serve` on e.
func serveProcess(t *testing.T, e *devenv.Env) string {
	t.Helper()
	cmd := exec.Command(bootstrap(t), e.ServeArgs("--cache-dir", filepath.Join(e.Dir, "serve-cache"))...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(e.ReadyFile()); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("edgefn serve not ready:\n%s", out.String())
	return ""
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestBootstrapAnswersLikeServe: every fixture through the real bootstrap
// answers what `edgefn serve` answers for the same HTTP request, byte for
// byte for OFREP and conditional config sync, each OFREP answer valid
// against the spec, with the Lambda request id as X-Request-Id.
func TestBootstrapAnswersLikeServe(t *testing.T) {
	e := devenv.New(t, "../../examples/shop", "shop", "production", "")
	e.Publish()
	base := serveProcess(t, e)
	fn := startFunction(t, lambdart.Config{Freeze: true}, e.LambdaEnv())

	mint, _ := http.NewRequest("POST", base+"/v1/tokens", strings.NewReader(`{"subject":"u-1","scopes":["evaluate","bootstrap"]}`))
	mint.Header.Set("Content-Type", "application/json")
	mint.Header.Set("X-API-Key", devenv.APIKey)
	resp, body := do(t, mint)
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("mint: %d %s", resp.StatusCode, body)
	}
	head, _ := http.NewRequest("HEAD", base+"/v1/flags", nil)
	head.Header.Set("X-API-Key", devenv.APIKey)
	resp, _ = do(t, head)
	vars := map[string]string{"API_KEY": devenv.APIKey, "TOKEN": tok.Token, "ETAG": resp.Header.Get("ETag")}
	spec := ofrepspec.Load(t)

	for _, c := range []struct {
		name   string
		status int
		same   bool // identical bodies (no clock in them)
	}{
		{"ofrep-single.json", 200, true},
		{"ofrep-bulk-base64.json", 200, true},
		{"flags-if-none-match.json", 304, true},
		{"bootstrap-values.json", 200, false},
		{"healthz.json", 200, false},
	} {
		payload := fixtureEvent(t, c.name, vars)
		got, res := fn.invoke(t, payload)
		req := asRequest(t, base, payload)
		want, wantBody := do(t, asRequest(t, base, payload))
		if got.StatusCode != c.status || want.StatusCode != c.status {
			t.Errorf("%s: Lambda %d, serve %d, want %d\n%s\n%s", c.name, got.StatusCode, want.StatusCode, c.status, got.Body, wantBody)
			continue
		}
		if c.same && !bytes.Equal(got.Body, wantBody) {
			t.Errorf("%s: the Lambda answered\n%s\nserve answered\n%s", c.name, got.Body, wantBody)
		}
		for _, h := range []string{"Content-Type", "ETag", "Cache-Control", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"} {
			if got.Headers.Get(h) != want.Header.Get(h) {
				t.Errorf("%s: %s %q from the Lambda, %q from serve", c.name, h, got.Headers.Get(h), want.Header.Get(h))
			}
		}
		if id := got.Headers.Get("X-Request-Id"); id != res.RequestID {
			t.Errorf("%s: X-Request-Id %q, want the invocation's %q", c.name, id, res.RequestID)
		}
		if strings.HasPrefix(req.URL.Path, "/ofrep/") {
			if err := spec.Validate(req, got.StatusCode, got.Headers, got.Body); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	// A body that is not base64 although the event says so: a 400 JSON
	// answer, not a failed invocation.
	got, _ := fn.invoke(t, fixtureEvent(t, "bad-base64.json", vars))
	if got.StatusCode != 400 || !strings.Contains(string(got.Body), "base64") {
		t.Errorf("bad base64: %d %s", got.StatusCode, got.Body)
	}
}

// TestBootstrapInitError: without EDGEFN_STORE the function fails its
// Init (exit 1, the missing variable named); with a store that holds no
// bundle and no local copy it exits 2. Lambda reports both as init errors
// (Runtime.ExitError).
func TestBootstrapInitError(t *testing.T) {
	e := devenv.New(t, "../../examples/shop", "shop", "production", "")
	for _, c := range []struct {
		name string
		vars []string
		code int
		says string
	}{
		{"no store", e.LambdaEnv("EDGEFN_STORE="), 1, "EDGEFN_STORE"},
		{"empty store", e.LambdaEnv(), 2, "no verifiable bundle"},
	} {
		srv, err := lambdart.Start(lambdart.Config{})
		if err != nil {
			t.Fatal(err)
		}
		proc, err := srv.StartProcess(bootstrap(t), c.vars, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.WaitInit(ctx)
		cancel()
		var ee *exec.ExitError
		if err == nil || !strings.Contains(err.Error(), "process exited") || !errors.As(proc.ExitErr(), &ee) || ee.ExitCode() != c.code {
			t.Errorf("%s: WaitInit = %v, exit %v, want exit %d", c.name, err, proc.ExitErr(), c.code)
		}
		if !strings.Contains(proc.Output(), c.says) {
			t.Errorf("%s: output does not say %q:\n%s", c.name, c.says, proc.Output())
		}
		if _, err := srv.Invoke(context.Background(), fixtureEvent(t, "healthz.json", nil)); err == nil {
			t.Errorf("%s: an environment whose Init failed took an invocation", c.name)
		}
		srv.Close()
	}
}

// TestBootstrapInvocationError: an event that is not an HTTP event (JSON,
// but not an object) fails the invocation with the runtime's error type;
// the environment goes on serving.
func TestBootstrapInvocationError(t *testing.T) {
	e := devenv.New(t, "../../examples/shop", "shop", "production", "")
	e.Publish()
	fn := startFunction(t, lambdart.Config{}, e.LambdaEnv())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, payload := range []string{`[1,2,3]`, `"GET /healthz"`, `{"rawPath":42}`} {
		res, err := fn.srv.Invoke(ctx, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != lambdart.StatusError || res.ErrorType == "" || !bytes.Contains(res.Payload, []byte("errorMessage")) {
			t.Errorf("%s: %s %q %s, want an invocation error", payload, res.Status, res.ErrorType, res.Payload)
		}
	}
	if got, _ := fn.invoke(t, fixtureEvent(t, "healthz.json", nil)); got.StatusCode != 200 {
		t.Fatalf("after the errors: %d %s", got.StatusCode, got.Body)
	}
	select {
	case <-fn.proc.Exited():
		t.Fatal("the process exited")
	default:
	}
}

// version reads the bundle version from a /healthz answer.
func version(t *testing.T, body []byte) uint64 {
	t.Helper()
	var h struct {
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("healthz %s: %v", body, err)
	}
	return h.Version
}

// TestBootstrapRefreshOnInvocation: a frozen function runs no background
// refresh; it looks at the store on an invocation once the minimum
// interval has passed since the last look, not before.
func TestBootstrapRefreshOnInvocation(t *testing.T) {
	// The interval must outlast a publish and two invocations on a loaded
	// machine (a publish took 7 s at load 11), and the function timeout a
	// thawed instance's refresh: this test is about the interval alone.
	const interval = 10 * time.Second
	e := devenv.New(t, "../../examples/shop", "shop", "production", "")
	e.Publish()
	initStart := time.Now() // the Init's own store read happens after this
	fn := startFunction(t, lambdart.Config{Freeze: true, Timeout: 30 * time.Second}, e.LambdaEnv("EDGEFN_REFRESH_INTERVAL="+interval.String()))
	health := fixtureEvent(t, "healthz.json", nil)
	if got, _ := fn.invoke(t, health); version(t, got.Body) != 1 {
		t.Fatalf("first invocation: %s", got.Body)
	}
	if v := e.Publish(); v != 2 {
		t.Fatalf("published %d", v)
	}
	got, _ := fn.invoke(t, health)
	if time.Since(initStart) >= interval {
		t.Fatalf("the machine took longer than the %v interval to get here; the check below would be meaningless", interval)
	}
	if version(t, got.Body) != 1 {
		t.Fatalf("refreshed within the minimum interval: %s", got.Body)
	}
	// Every check so far happened before now: an interval from now, the
	// next invocation is due one.
	time.Sleep(interval + 300*time.Millisecond)
	refreshStart := time.Now()
	if got, _ := fn.invoke(t, health); version(t, got.Body) != 2 {
		t.Fatalf("not refreshed on the first invocation after the interval: %s", got.Body)
	}
	// The next look is an interval away again.
	e.Publish()
	got, _ = fn.invoke(t, health)
	if time.Since(refreshStart) >= interval {
		t.Fatalf("the machine took longer than the %v interval to publish and invoke; the check below would be meaningless", interval)
	}
	if version(t, got.Body) != 2 {
		t.Fatalf("refreshed twice within an interval: %s", got.Body)
	}
}

// s3Env publishes examples/shop to a fresh prefix of the versitygw bucket
// and returns the set-up and a fault proxy in front of the server.
func s3Env(t *testing.T) (*devenv.Env, *s3fault.Proxy, string) {
	t.Helper()
	e := devenv.New(t, "../../examples/shop", "shop", "production", devenv.S3Store(t))
	e.Publish()
	p, err := s3fault.Start(os.Getenv("EDGEFLAG_S3_ENDPOINT"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	through, err := p.StoreURL(e.Store)
	if err != nil {
		t.Fatal(err)
	}
	return e, p, through
}

func awsVars() []string {
	var out []string
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_EC2_METADATA_DISABLED"} {
		out = append(out, k+"="+os.Getenv(k))
	}
	return out
}

// TestBootstrapS3SlowStore: the function reads its bundle from S3. When
// the store stalls for longer than the refresh timeout, the invocation
// still answers within the function timeout from the last-known-good
// bundle and /healthz says so; once the store answers again the next
// refresh recovers and picks up a new version. A refresh timeout longer
// than the function timeout is cut to the invocation's deadline less the
// time kept to answer: the answer is degraded, never a timeout.
func TestBootstrapS3SlowStore(t *testing.T) {
	e, proxy, store := s3Env(t)
	health := fixtureEvent(t, "healthz.json", nil)
	vars := append(awsVars(), e.LambdaEnv("EDGEFN_STORE="+store, "EDGEFN_REFRESH_INTERVAL=1s")...)

	t.Run("refresh timeout within the function timeout", func(t *testing.T) {
		fn := startFunction(t, lambdart.Config{Timeout: 3 * time.Second}, append(vars, "EDGEFN_REFRESH_TIMEOUT=500ms"))
		if got, _ := fn.invoke(t, health); version(t, got.Body) != 1 || !strings.Contains(string(got.Body), `"status":"ok"`) {
			t.Fatalf("from S3: %s", got.Body)
		}
		proxy.Set(s3fault.Stall)
		time.Sleep(1100 * time.Millisecond)
		got, res := fn.invoke(t, health)
		if !strings.Contains(string(got.Body), `"lastKnownGood":true`) || version(t, got.Body) != 1 {
			t.Fatalf("with the store stalled: %s", got.Body)
		}
		if res.Duration > 2*time.Second {
			t.Errorf("the stalled refresh took %v, beyond its 500ms timeout", res.Duration)
		}
		single, _ := fn.invoke(t, fixtureEvent(t, "ofrep-single.json", map[string]string{"API_KEY": devenv.APIKey}))
		if single.StatusCode != 200 {
			t.Fatalf("OFREP with the store stalled: %d %s", single.StatusCode, single.Body)
		}
		proxy.Set(s3fault.Pass)
		e.Publish()
		time.Sleep(1100 * time.Millisecond)
		if got, _ := fn.invoke(t, health); version(t, got.Body) != 2 || !strings.Contains(string(got.Body), `"status":"ok"`) {
			t.Fatalf("after the store came back: %s", got.Body)
		}
	})

	t.Run("refresh timeout beyond the function timeout", func(t *testing.T) {
		// The check stops before the invocation's deadline whatever the
		// refresh timeout says, so the instance answers from
		// last-known-good in time and is not reset.
		fn := startFunction(t, lambdart.Config{Timeout: 2 * time.Second}, append(vars, "EDGEFN_REFRESH_TIMEOUT=10s"))
		if got, _ := fn.invoke(t, health); got.StatusCode != 200 {
			t.Fatalf("from S3: %d %s", got.StatusCode, got.Body)
		}
		proxy.Set(s3fault.Stall)
		defer proxy.Set(s3fault.Pass)
		time.Sleep(1100 * time.Millisecond)
		got, res := fn.invoke(t, health)
		if !strings.Contains(string(got.Body), `"lastKnownGood":true`) || !strings.Contains(string(got.Body), `"lastFailure":"timeout"`) {
			t.Fatalf("with the store stalled past the function timeout: %s", got.Body)
		}
		if res.Duration >= 2*time.Second {
			t.Errorf("the invocation took %v, the function timeout is 2s", res.Duration)
		}
		select {
		case <-fn.proc.Exited():
			t.Fatal("the environment was reset")
		default:
		}
		if single, _ := fn.invoke(t, fixtureEvent(t, "ofrep-single.json", map[string]string{"API_KEY": devenv.APIKey})); single.StatusCode != 200 {
			t.Fatalf("OFREP after the stalled check: %d %s", single.StatusCode, single.Body)
		}
	})
}
