package lambdart

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FunctionURLEvent builds the event a Lambda function URL sends for r
// (payload format 2.0, as documented for function URLs): rawPath,
// rawQueryString, lower-case headers with repeated values joined by ",",
// cookies apart, queryStringParameters, requestContext.http, and the body
// (base64 when it is not valid UTF-8). It reads r.Body.
func (s *Server) FunctionURLEvent(r *http.Request) ([]byte, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
		if err != nil {
			return nil, fmt.Errorf("function URL event: %w", err)
		}
		body = b
	}
	now := time.Now().UTC()
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if host != "" {
		headers["host"] = host
	}
	if len(body) > 0 || r.ContentLength > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	headers["x-forwarded-proto"] = "https"
	headers["x-forwarded-for"] = "127.0.0.1"
	var qs map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		qs = map[string]string{}
		for k, vs := range q {
			qs[k] = strings.Join(vs, ",")
		}
	}
	sort.Strings(cookies)
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        path,
		"rawQueryString": r.URL.RawQuery,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId": s.cfg.AccountID, "apiId": "lambdart", "domainName": host, "domainPrefix": strings.Split(host, ".")[0],
			"http":      map[string]string{"method": r.Method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": r.Header.Get("User-Agent")},
			"requestId": newID(), "routeKey": "$default", "stage": "$default",
			"time": now.Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		ev["cookies"] = cookies
	}
	if qs != nil {
		ev["queryStringParameters"] = qs
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev["body"] = string(body)
		} else {
			ev["body"] = base64.StdEncoding.EncodeToString(body)
			ev["isBase64Encoded"] = true
		}
	}
	return json.Marshal(ev)
}

// FunctionURLResponse is a function's answer to a function URL event.
type FunctionURLResponse struct {
	StatusCode int
	Headers    http.Header
	Cookies    []string
	Body       []byte
}

// ParseFunctionURLResponse interprets a function's response payload as
// function URLs do: an object with statusCode is the structured response
// (headers, cookies, body, isBase64Encoded); any other JSON is a 200
// application/json answer whose body is the payload itself.
func ParseFunctionURLResponse(payload []byte) (*FunctionURLResponse, error) {
	var doc struct {
		StatusCode      *int              `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            *string           `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || !json.Valid(trimmed) {
		return nil, errors.New("parse function URL response: not JSON")
	}
	if trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return nil, fmt.Errorf("parse function URL response: %w", err)
		}
	}
	if doc.StatusCode == nil {
		return &FunctionURLResponse{StatusCode: 200, Headers: http.Header{"Content-Type": {"application/json"}}, Body: payload}, nil
	}
	res := &FunctionURLResponse{StatusCode: *doc.StatusCode, Headers: http.Header{}, Cookies: doc.Cookies}
	for k, v := range doc.Headers {
		res.Headers.Set(k, v)
	}
	if doc.Body != nil {
		if doc.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*doc.Body)
			if err != nil {
				return nil, fmt.Errorf("parse function URL response: body: %w", err)
			}
			res.Body = b
		} else {
			res.Body = []byte(*doc.Body)
		}
	}
	return res, nil
}

// Transport is an http.RoundTripper that sends each request through the
// function as a function URL would: event (FunctionURLEvent), Invoke,
// response (ParseFunctionURLResponse). A function error or timeout
// answers 502 with the error document, as function URLs do. Requests are
// served one at a time, like one execution environment.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Server }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ev, err := t.s.FunctionURLEvent(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := t.s.Invoke(ctx, ev)
	if err != nil {
		return nil, err
	}
	var fr *FunctionURLResponse
	if res.Status == StatusSuccess {
		fr, err = ParseFunctionURLResponse(res.Payload)
	}
	if res.Status != StatusSuccess || err != nil {
		fr = &FunctionURLResponse{StatusCode: http.StatusBadGateway, Headers: http.Header{"Content-Type": {"application/json"}}, Body: res.Payload}
	}
	h := fr.Headers
	for _, c := range fr.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("X-Amzn-Requestid", res.RequestID)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", fr.StatusCode, http.StatusText(fr.StatusCode)), StatusCode: fr.StatusCode,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(bytes.NewReader(fr.Body)),
		ContentLength: int64(len(fr.Body)), Request: r,
	}, nil
}
