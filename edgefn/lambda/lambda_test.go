package lambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/internal/fixture"
	"github.com/edgeflag/edgeflag/edgefn/lambda"
)

type rig struct {
	env     *fixture.Env
	fn      *lambda.Function
	handler awslambda.Handler
	emf     *bytes.Buffer
	vars    map[string]string
}

func newRig(t *testing.T) *rig {
	env := fixture.New(t)
	h := env.Handler(func(c *api.Config) { c.Stream = false; c.RequestID = lambda.RequestID })
	emf := &bytes.Buffer{}
	fn := lambda.New(lambda.Config{Handler: h, Source: env.Source, RefreshInterval: 15 * time.Second, Metrics: env.Metrics,
		EMF: emf, Project: fixture.Project, Environment: fixture.Environment, Now: env.Now})
	tok := env.Mint(auth.TokenRequest{Subject: "u-1", Scopes: []string{"evaluate", "bootstrap"}})
	return &rig{env: env, fn: fn, handler: awslambda.NewHandler(fn.Invoke), emf: emf,
		vars: map[string]string{"API_KEY": fixture.Backend, "TOKEN": tok, "ETAG": env.Source.Current().Server.ETag}}
}

// invoke sends a fixture event through the Lambda handler the runtime
// would call, with a Lambda context carrying requestID.
func (r *rig) invoke(t *testing.T, name, requestID string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	payload := os.Expand(string(data), func(k string) string {
		q, _ := json.Marshal(r.vars[k])
		return string(q[1 : len(q)-1])
	})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
	out, err := r.handler.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("%s: invocation error %v", name, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: %v: %s", name, err, out)
	}
	if resp.Headers["X-Request-Id"] != requestID {
		t.Errorf("%s: X-Request-Id %q, want the Lambda request id %q", name, resp.Headers["X-Request-Id"], requestID)
	}
	return resp
}

func TestFunctionURLEvents(t *testing.T) {
	r := newRig(t)
	resp := r.invoke(t, "healthz.json", "req-1")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"ok"`) || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("healthz: %+v", resp)
	}
	resp = r.invoke(t, "ofrep-single.json", "req-2")
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil || resp.StatusCode != 200 || m["value"] != true || m["variant"] != "on" {
		t.Fatalf("ofrep single: %d %s", resp.StatusCode, resp.Body)
	}
	resp = r.invoke(t, "ofrep-bulk-base64.json", "req-3")
	if resp.StatusCode != 200 || resp.Headers["Etag"] == "" && resp.Headers["ETag"] == "" || resp.Headers["Access-Control-Allow-Origin"] != "*" {
		t.Fatalf("ofrep bulk (base64 body, token, CORS): %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	resp = r.invoke(t, "bad-base64.json", "req-4")
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, "base64") {
		t.Fatalf("bad base64: %+v", resp)
	}
	resp = r.invoke(t, "flags-if-none-match.json", "req-5")
	if resp.StatusCode != 304 {
		t.Fatalf("flags with If-None-Match: %+v", resp)
	}
	resp = r.invoke(t, "bootstrap-values.json", "req-6")
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/jose" || strings.Count(resp.Body, ".") != 2 {
		t.Fatalf("bootstrap values: %+v", resp)
	}
}

func TestRefreshOnInvocation(t *testing.T) {
	r := newRig(t)
	r.invoke(t, "healthz.json", "a")
	r.env.Publish(2)
	// Within the interval the new version is not looked for.
	r.env.SetNow(fixture.T0.Add(5 * time.Second))
	if resp := r.invoke(t, "healthz.json", "b"); !strings.Contains(resp.Body, `"version":1`) {
		t.Fatalf("refreshed within the interval: %s", resp.Body)
	}
	r.env.SetNow(fixture.T0.Add(16 * time.Second))
	if resp := r.invoke(t, "healthz.json", "c"); !strings.Contains(resp.Body, `"version":2`) {
		t.Fatalf("not refreshed after the interval: %s", resp.Body)
	}
}

func TestEMFLines(t *testing.T) {
	r := newRig(t)
	r.invoke(t, "ofrep-single.json", "a")
	r.invoke(t, "ofrep-single.json", "b") // same minute: no second line
	r.env.SetNow(fixture.T0.Add(61 * time.Second))
	r.invoke(t, "healthz.json", "c")
	lines := strings.Split(strings.TrimSpace(r.emf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("EMF lines %q", r.emf.String())
	}
	var first struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
			}
		} `json:"_aws"`
		Project, Environment string
		BundleAgeSeconds     float64
		Requests             int
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.AWS.CloudWatchMetrics[0].Namespace != "edgeflag" || first.Project != "shop" || first.Environment != "production" ||
		first.BundleAgeSeconds != 3600 || first.Requests != 1 {
		t.Fatalf("EMF %s", lines[0])
	}
}
