// Command testfn is a small Lambda function for lambdart's own tests,
// built the way edgefn is (-tags lambda.norpc) and run as a real bootstrap
// process. It answers function-URL events by path:
//
//	/echo       the request's method, path, query, headers and body as JSON
//	/sleep?ms=N sleeps N ms, then answers 200
//	/fail       returns an error (the runtime posts /error)
//	/exit       exits the process with status 3
//
// With TESTFN_EXTENSION=invoke it registers an internal extension for
// INVOKE that appends "after <requestId>" to $TESTFN_DIR/log after each
// invocation's handler returned, and a background goroutine that appends
// "tick" every 20 ms (frozen environments stop it). With =shutdown it tries
// to register for SHUTDOWN (which Lambda refuses an internal extension) and
// logs the refusal. On SIGTERM it appends "sigterm" and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/edgeflag/edgeflag/edgefn/lambdaext"
)

var (
	logMu   sync.Mutex
	logPath = filepath.Join(os.Getenv("TESTFN_DIR"), "log")
)

func note(s string) {
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		log.Print(err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, s)
}

var invocations lambdaext.Invocations

func handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if lc != nil {
		defer invocations.Finished(lc.AwsRequestID)
	}
	switch req.RawPath {
	case "/echo":
		dl, _ := ctx.Deadline()
		b, _ := json.Marshal(map[string]any{"method": req.RequestContext.HTTP.Method, "path": req.RawPath, "query": req.RawQueryString,
			"headers": req.Headers, "cookies": req.Cookies, "body": req.Body, "base64": req.IsBase64Encoded,
			"requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn, "deadlineSet": !dl.IsZero()})
		return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b),
			Cookies: []string{"a=1"}}, nil
	case "/sleep":
		ms, _ := strconv.Atoi(req.QueryStringParameters["ms"])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return events.LambdaFunctionURLResponse{StatusCode: 200, Body: "slept"}, nil
	case "/fail":
		return events.LambdaFunctionURLResponse{}, errors.New("asked to fail")
	case "/exit":
		os.Exit(3)
	}
	return events.LambdaFunctionURLResponse{StatusCode: 404, Body: "no " + req.RawPath}, nil
}

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		note("sigterm")
		os.Exit(0)
	}()
	switch os.Getenv("TESTFN_EXTENSION") {
	case "invoke":
		ext, err := lambdaext.Register(context.Background(), api, "testfn-ext", lambdaext.Invoke)
		if err != nil {
			log.Fatal(err)
		}
		note("registered " + ext.Registration.FunctionName)
		go func() {
			err := ext.AfterInvoke(context.Background(), &invocations, func(ctx context.Context, ev lambdaext.Event) {
				note("after " + ev.RequestID)
			})
			log.Print(err)
		}()
		go func() {
			for range time.Tick(20 * time.Millisecond) {
				note("tick")
			}
		}()
	case "shutdown":
		_, err := lambdaext.Register(context.Background(), api, "testfn-ext", lambdaext.Invoke, lambdaext.Shutdown)
		note(fmt.Sprintf("register shutdown: %v", err))
	}
	lambda.Start(handle)
}
