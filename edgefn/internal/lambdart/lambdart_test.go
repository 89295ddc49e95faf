package lambdart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/lambdaext"
)

// bootstrap is testfn built like a Lambda bootstrap (-tags lambda.norpc).
var bootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdart-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./testfn")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testfn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	srv  *Server
	proc *Process
	dir  string
}

func start(t *testing.T, cfg Config, vars ...string) *env {
	t.Helper()
	srv, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	proc, err := srv.StartProcess(bootstrap, append([]string{"TESTFN_DIR=" + dir}, vars...), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitInit(ctx); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, proc.Output())
	}
	return &env{srv, proc, dir}
}

func (e *env) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) do(t *testing.T, method, url string, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Transport: e.srv.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestFunctionURLRoundTrip(t *testing.T) {
	e := start(t, Config{})
	res, body := e.do(t, "POST", "https://abc.lambda-url.us-east-1.on.aws/echo?x=1&x=2&y=%2F", `{"hello":"wörld"}`,
		"X-Custom", "a", "X-Custom", "b", "Cookie", "c1=v1; c2=v2", "Content-Type", "application/json")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Set-Cookie") != "a=1" {
		t.Fatalf("%d %v %s", res.StatusCode, res.Header, body)
	}
	var echo struct {
		Method, Path, Query, Body, RequestID, Arn string
		Headers                                   map[string]string
		Cookies                                   []string
		Base64, DeadlineSet                       bool
	}
	if err := json.Unmarshal(body, &echo); err != nil {
		t.Fatal(err)
	}
	if echo.Method != "POST" || echo.Path != "/echo" || echo.Query != "x=1&x=2&y=%2F" || echo.Body != `{"hello":"wörld"}` || echo.Base64 ||
		echo.Headers["x-custom"] != "a,b" || echo.Headers["content-type"] != "application/json" || echo.Headers["host"] != "abc.lambda-url.us-east-1.on.aws" ||
		strings.Join(echo.Cookies, ";") != "c1=v1;c2=v2" || echo.Arn != e.srv.Config().FunctionArn() || !echo.DeadlineSet ||
		echo.RequestID != res.Header.Get("X-Amzn-Requestid") || len(echo.RequestID) != 36 {
		t.Fatalf("echo %+v\nrequest id header %q", echo, res.Header.Get("X-Amzn-Requestid"))
	}
	// A binary body arrives base64-encoded.
	_, body = e.do(t, "PUT", "https://abc.lambda-url.us-east-1.on.aws/echo", "\xff\x00\x01")
	if err := json.Unmarshal(body, &echo); err != nil || !echo.Base64 || echo.Body != "/wAB" {
		t.Fatalf("binary: %s %v", body, err)
	}
	// Several invocations in a row, one at a time.
	for i := 0; i < 5; i++ {
		if res, _ := e.do(t, "GET", "https://abc.lambda-url.us-east-1.on.aws/nothing", ""); res.StatusCode != 404 {
			t.Fatalf("invocation %d: %d", i, res.StatusCode)
		}
	}
	if len(e.srv.Extensions()) != 0 {
		t.Fatal(e.srv.Extensions())
	}
}

func TestErrorTimeoutCrash(t *testing.T) {
	e := start(t, Config{Timeout: 500 * time.Millisecond})
	ev := func(path string) []byte {
		req, _ := http.NewRequest("GET", "https://x.test"+path, nil)
		b, err := e.srv.FunctionURLEvent(req)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()
	res, err := e.srv.Invoke(ctx, ev("/fail"))
	if err != nil || res.Status != StatusError || res.ErrorType != "errorString" || !bytes.Contains(res.Payload, []byte("asked to fail")) {
		t.Fatalf("fail: %+v %v", res, err)
	}
	if r, body := e.do(t, "GET", "https://x.test/fail", ""); r.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("asked to fail")) {
		t.Fatalf("fail through the URL: %d %s", r.StatusCode, body)
	}
	res, err = e.srv.Invoke(ctx, ev("/sleep?ms=2000"))
	if err != nil || res.Status != StatusTimeout || res.Duration < 500*time.Millisecond {
		t.Fatalf("sleep: %+v %v", res, err)
	}
	select {
	case <-e.proc.Exited(): // a timeout resets the environment
	case <-time.After(5 * time.Second):
		t.Fatal("the process survived a timeout")
	}
	if _, err := e.srv.Invoke(ctx, ev("/echo")); err == nil {
		t.Fatal("invoked a reset environment")
	}

	e2 := start(t, Config{})
	res, err = e2.srv.Invoke(ctx, ev("/exit"))
	if err != nil || res.Status != StatusCrash || res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("exit: %+v %v", res, err)
	}
	if !strings.Contains(e2.proc.ExitErr().Error(), "exit status 3") {
		t.Fatal(e2.proc.ExitErr())
	}
}

func countTicks(s string) int { return strings.Count(s, "tick\n") }

func TestInternalExtensionFreezeAndSIGTERM(t *testing.T) {
	e := start(t, Config{Freeze: true}, "TESTFN_EXTENSION=invoke")
	exts := e.srv.Extensions()
	if len(exts) != 1 || exts[0].Name != "testfn-ext" || exts[0].External || strings.Join(exts[0].Events, ",") != "INVOKE" {
		t.Fatalf("extensions %+v", exts)
	}
	if !strings.Contains(e.log(t), "registered edgefn\n") {
		t.Fatalf("log %q", e.log(t))
	}
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		res, _ := e.do(t, "GET", "https://x.test/echo", "")
		ids = append(ids, res.Header.Get("X-Amzn-Requestid"))
		if err := e.srv.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		// The extension's after-invoke work is done when the phase ends.
		if !strings.Contains(e.log(t), "after "+ids[i]+"\n") {
			t.Fatalf("invocation %d: no after-invoke line for %s in\n%s", i, ids[i], e.log(t))
		}
	}
	// Frozen between invocations: the ticker goroutine does not run.
	frozen := countTicks(e.log(t))
	time.Sleep(300 * time.Millisecond)
	if n := countTicks(e.log(t)); n != frozen {
		t.Fatalf("%d ticks while frozen", n-frozen)
	}
	// It runs again during an invocation.
	req, _ := http.NewRequest("GET", "https://x.test/sleep?ms=200", nil)
	evb, _ := e.srv.FunctionURLEvent(req)
	if res, err := e.srv.Invoke(ctx, evb); err != nil || res.Status != StatusSuccess {
		t.Fatal(res, err)
	}
	if n := countTicks(e.log(t)); n <= frozen {
		t.Fatal("no ticks during an invocation")
	}
	rep, err := e.srv.Shutdown(ctx, ReasonSpindown)
	if err != nil || !rep.Signaled || !rep.Exited || rep.Killed || rep.Limit != ShutdownInternal || rep.ExitErr != nil {
		t.Fatalf("shutdown %+v %v\n%s", rep, err, e.proc.Output())
	}
	if !strings.HasSuffix(e.log(t), "sigterm\n") {
		t.Fatalf("no sigterm line: %q", e.log(t))
	}
}

func TestNoExtensionNoSIGTERM(t *testing.T) {
	e := start(t, Config{})
	rep, err := e.srv.Shutdown(context.Background(), ReasonSpindown)
	if err != nil || rep.Signaled || !rep.Killed || rep.Limit != ShutdownNone {
		t.Fatalf("%+v %v", rep, err)
	}
	if strings.Contains(e.log(t), "sigterm") {
		t.Fatal("SIGTERM without an extension")
	}
}

func TestInternalExtensionMayNotRegisterShutdown(t *testing.T) {
	e := start(t, Config{}, "TESTFN_EXTENSION=shutdown")
	if l := e.log(t); !strings.Contains(l, "400 Bad Request") || !strings.Contains(l, "ShutdownEventNotSupportedForInternalExtension") {
		t.Fatalf("log %q", l)
	}
	if len(e.srv.Extensions()) != 0 {
		t.Fatal(e.srv.Extensions())
	}
}

func TestExternalExtensionEvents(t *testing.T) {
	srv, err := Start(Config{ExternalExtensions: []string{"observer"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// Register validation.
	post := func(name, body string) int {
		req, _ := http.NewRequest("POST", "http://"+srv.Addr()+"/2020-01-01/extension/register", strings.NewReader(body))
		if name != "" {
			req.Header.Set(HeaderExtensionName, name)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if post("", `{"events":["INVOKE"]}`) != 400 || post("x", `{"events":["BOOT"]}`) != 400 || post("x", `{"events":["INVOKE"],"more":1}`) != 400 {
		t.Fatal("bad registrations accepted")
	}
	obs, err := lambdaext.Register(ctx, srv.Addr(), "observer", lambdaext.Invoke, lambdaext.Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lambdaext.Register(ctx, srv.Addr(), "observer"); err == nil {
		t.Fatal("the same name registered twice")
	}
	var mu sync.Mutex
	var got []lambdaext.Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := obs.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
			if ev.EventType == lambdaext.Shutdown {
				return
			}
		}
	}()
	dir := t.TempDir()
	proc, err := srv.StartProcess(bootstrap, []string{"TESTFN_DIR=" + dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitInit(ctx); err != nil {
		t.Fatal(err, proc.Output())
	}
	if _, err := lambdaext.Register(ctx, srv.Addr(), "late", lambdaext.Invoke); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("registration after init: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://x.test/echo", nil)
	evb, _ := srv.FunctionURLEvent(req)
	before := time.Now()
	res, err := srv.Invoke(ctx, evb)
	if err != nil || res.Status != StatusSuccess {
		t.Fatal(res, err)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Shutdown(ctx, ReasonSpindown)
	if err != nil || !rep.Signaled || rep.Limit != ShutdownExternal || !rep.Exited {
		t.Fatalf("%+v %v", rep, err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].EventType != "INVOKE" || got[0].RequestID != res.RequestID || got[0].InvokedFunctionArn != srv.Config().FunctionArn() ||
		got[0].Deadline().Before(before.Add(2*time.Second-50*time.Millisecond)) || got[0].Tracing == nil || got[0].Tracing.Type != "X-Amzn-Trace-Id" ||
		got[1].EventType != "SHUTDOWN" || got[1].ShutdownReason != "spindown" || got[1].DeadlineMs == 0 {
		t.Fatalf("events %+v", got)
	}
}

func TestRuntimeAPIRejects(t *testing.T) {
	srv, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := http.Post("http://"+srv.Addr()+"/2018-06-01/runtime/invocation/nope/response", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("unknown request id: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", "http://"+srv.Addr()+"/2020-01-01/extension/event/next", nil)
	req.Header.Set(HeaderExtensionID, "nope")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("unknown extension: %d", res.StatusCode)
	}
	if _, err := srv.Invoke(context.Background(), []byte("not json")); err == nil {
		t.Fatal("invoked with a non-JSON payload")
	}
}

func TestParseFunctionURLResponse(t *testing.T) {
	r, err := ParseFunctionURLResponse([]byte(`{"message":"hi"}`))
	if err != nil || r.StatusCode != 200 || string(r.Body) != `{"message":"hi"}` || r.Headers.Get("Content-Type") != "application/json" {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ParseFunctionURLResponse([]byte(`{"statusCode":201,"headers":{"x-a":"b"},"body":"aGk=","isBase64Encoded":true,"cookies":["c=1"]}`))
	if err != nil || r.StatusCode != 201 || string(r.Body) != "hi" || r.Headers.Get("X-A") != "b" || r.Cookies[0] != "c=1" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ParseFunctionURLResponse([]byte(`nope`)); err == nil {
		t.Fatal("accepted non-JSON")
	}
}
