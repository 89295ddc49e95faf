// Package lambda runs edgefn's http.Handler as an AWS Lambda function
// behind a function URL or an API Gateway HTTP API (payload format 2.0),
// through aws-lambda-go-api-proxy's httpadapter. A frozen function runs no
// goroutines, so the bundle refresh happens on invocation, at most once
// per interval, before the request is served, and stops in time for the
// request to be answered within the function timeout; CloudWatch EMF metric lines
// go to stdout at most once per EMF interval.
package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/edgeflag/edgeflag/edgefn/metrics"
	"github.com/edgeflag/edgeflag/edgefn/source"
)

// Source is the bundle source as the adapter uses it (*source.Source).
type Source interface {
	MaybeRefresh(ctx context.Context, minInterval time.Duration) bool
	Status() source.Status
}

// DefaultEMFInterval is how often metric lines are written when
// Config.EMFInterval is zero.
const DefaultEMFInterval = time.Minute

// Config configures a Function.
type Config struct {
	Handler http.Handler
	Source  Source
	// RefreshInterval is the minimum time between two store checks.
	RefreshInterval time.Duration
	Metrics         *metrics.Registry
	// EMF receives the metric lines (stdout in Lambda).
	EMF                  io.Writer
	EMFInterval          time.Duration
	Project, Environment string
	Now                  func() time.Time
	// Done, when set, is called as each invocation's handler returns,
	// with the invocation's context (the events writer uses it: see
	// app).
	Done func(ctx context.Context)
}

// Function is the Lambda handler.
type Function struct {
	cfg   Config
	proxy *httpadapter.HandlerAdapterV2
	mu    sync.Mutex // one invocation at a time per instance; guards EMF timing
}

// New returns the function.
func New(cfg Config) *Function {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EMFInterval <= 0 {
		cfg.EMFInterval = DefaultEMFInterval
	}
	if cfg.EMF == nil {
		cfg.EMF = io.Discard
	}
	return &Function{cfg: cfg, proxy: httpadapter.NewV2(cfg.Handler)}
}

// Answer time kept back from the store check: a quarter of what is left
// of the invocation, between minAnswerTime and maxAnswerTime.
const (
	minAnswerTime = 100 * time.Millisecond
	maxAnswerTime = time.Second
)

// refreshContext bounds the store check that precedes a request by the
// invocation's deadline less the time kept to answer, so that a store
// slower than the function timeout costs a degraded answer from the
// last-known-good bundle, not a timed-out invocation and a reset
// execution environment.
func refreshContext(ctx context.Context, now time.Time) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	keep := min(max(dl.Sub(now)/4, minAnswerTime), maxAnswerTime)
	return context.WithDeadline(ctx, dl.Add(-keep))
}

// Invoke serves one function-URL (or HTTP API v2) event. It never returns
// an error for a bad request: that is an HTTP answer, not a failed
// invocation.
func (f *Function) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.Done != nil {
		defer f.cfg.Done(ctx)
	}
	rctx, cancel := refreshContext(ctx, f.cfg.Now())
	f.cfg.Source.MaybeRefresh(rctx, f.cfg.RefreshInterval)
	cancel()
	if ev.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return jsonAnswer(ctx, http.StatusBadRequest, "bad_request", "the event body is not valid base64"), nil
		}
	}
	resp, err := f.proxy.ProxyWithContext(ctx, ev)
	if err != nil {
		return jsonAnswer(ctx, http.StatusBadRequest, "bad_request", "the event is not an HTTP request: "+err.Error()), nil
	}
	f.emf()
	return resp, nil
}

// emf writes a metric line when the interval has passed.
func (f *Function) emf() {
	now := f.cfg.Now()
	if last := f.cfg.Metrics.LastEMF(); !last.IsZero() && now.Sub(last) < f.cfg.EMFInterval {
		return
	}
	_ = f.cfg.Metrics.WriteEMF(f.cfg.EMF, f.cfg.Source.Status(), f.cfg.Project, f.cfg.Environment, now)
}

func jsonAnswer(ctx context.Context, status int, code, msg string) events.APIGatewayV2HTTPResponse {
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	body, _ := json.Marshal(map[string]string{"error": code, "message": msg, "requestId": id})
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(body) + "\n",
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Request-Id": id}}
}

// RequestID returns the Lambda request id of a request served through
// Invoke (for api.Config.RequestID).
func RequestID(r *http.Request) string {
	if lc, ok := lambdacontext.FromContext(r.Context()); ok {
		return lc.AwsRequestID
	}
	return ""
}

// InvocationID returns the Lambda request id of an invocation's context
// ("" outside an invocation).
func InvocationID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// Start runs the Lambda runtime loop with f until the runtime ends it
// (it does not return while AWS_LAMBDA_RUNTIME_API answers).
func Start(ctx context.Context, f *Function) {
	awslambda.StartWithOptions(f.Invoke, awslambda.WithContext(ctx))
}
