// Package lambdaext is a client of the AWS Lambda Extensions API
// (version 2020-01-01) for an internal extension: one that runs inside the
// function's own process.
//
// edgefn registers one for INVOKE events. Two things follow, both
// documented by AWS:
//
//   - Lambda answers a function URL as soon as the handler's response is
//     posted, but freezes the environment only once the runtime and every
//     extension have asked for their next event. Work done between the
//     INVOKE event and the extension's next call (AfterInvoke) therefore
//     runs after the response, inside the invocation, without delaying it.
//   - A function with a registered extension receives SIGTERM, with up to
//     500 ms to exit, before Lambda shuts the environment down. Internal
//     extensions may not register for the SHUTDOWN event itself (Register
//     refuses it): the signal is how they learn of the shutdown.
package lambdaext

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Event types.
const (
	Invoke   = "INVOKE"
	Shutdown = "SHUTDOWN"
)

// API paths and headers of the Extensions API.
const (
	Version          = "2020-01-01"
	HeaderName       = "Lambda-Extension-Name"
	HeaderIdentifier = "Lambda-Extension-Identifier"
	HeaderErrorType  = "Lambda-Extension-Function-Error-Type"
)

// Client is a registered extension.
type Client struct {
	base string
	id   string
	http *http.Client
	// Registration is the register answer.
	Registration Registration
}

// Registration is the body of a register answer.
type Registration struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId,omitempty"`
}

// Event is a lifecycle event.
type Event struct {
	EventType string `json:"eventType"`
	// DeadlineMs is the invocation's (or the shutdown's) deadline in Unix
	// milliseconds.
	DeadlineMs         int64    `json:"deadlineMs"`
	RequestID          string   `json:"requestId,omitempty"`
	InvokedFunctionArn string   `json:"invokedFunctionArn,omitempty"`
	ShutdownReason     string   `json:"shutdownReason,omitempty"`
	Tracing            *Tracing `json:"tracing,omitempty"`
}

// Tracing is an event's tracing header.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Deadline is DeadlineMs as a time.
func (e Event) Deadline() time.Time { return time.UnixMilli(e.DeadlineMs) }

// Register registers an internal extension named name for events with the
// Extensions API at runtimeAPI (the value of AWS_LAMBDA_RUNTIME_API). It
// must be called before the runtime asks for its first invocation.
func Register(ctx context.Context, runtimeAPI, name string, events ...string) (*Client, error) {
	if runtimeAPI == "" {
		return nil, errors.New("register extension: AWS_LAMBDA_RUNTIME_API is not set")
	}
	if events == nil {
		events = []string{}
	}
	body, err := json.Marshal(struct {
		Events []string `json:"events"`
	}{events})
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	c := &Client{base: "http://" + runtimeAPI + "/" + Version + "/extension/", http: &http.Client{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"register", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	req.Header.Set(HeaderName, name)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register extension: %s: %s", res.Status, bytes.TrimSpace(data))
	}
	c.id = res.Header.Get(HeaderIdentifier)
	if c.id == "" {
		return nil, errors.New("register extension: no " + HeaderIdentifier + " in the answer")
	}
	if err := json.Unmarshal(data, &c.Registration); err != nil {
		return nil, fmt.Errorf("register extension: answer: %w", err)
	}
	return c, nil
}

// ID is the extension's identifier.
func (c *Client) ID() string { return c.id }

// Next blocks until the next event (no timeout: the environment may stay
// frozen for hours in it).
func (c *Client) Next(ctx context.Context) (Event, error) {
	var ev Event
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"event/next", nil)
	if err != nil {
		return ev, fmt.Errorf("next extension event: %w", err)
	}
	req.Header.Set(HeaderIdentifier, c.id)
	res, err := c.http.Do(req)
	if err != nil {
		return ev, fmt.Errorf("next extension event: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return ev, fmt.Errorf("next extension event: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return ev, fmt.Errorf("next extension event: %s: %s", res.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, fmt.Errorf("next extension event: %w", err)
	}
	return ev, nil
}

// InitError reports a failure to initialize (path init/error); Lambda
// then refuses every further call and the extension should exit.
func (c *Client) InitError(ctx context.Context, errorType string, cause error) error {
	return c.report(ctx, "init/error", errorType, cause)
}

// ExitError reports an unexpected failure before exiting (exit/error).
func (c *Client) ExitError(ctx context.Context, errorType string, cause error) error {
	return c.report(ctx, "exit/error", errorType, cause)
}

func (c *Client) report(ctx context.Context, path, errorType string, cause error) error {
	body, _ := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": cause.Error()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("report extension error: %w", err)
	}
	req.Header.Set(HeaderIdentifier, c.id)
	req.Header.Set(HeaderErrorType, errorType)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("report extension error: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("report extension error: %s", res.Status)
	}
	return nil
}

// Invocations tracks which invocations' handlers have returned, so that
// work after an invocation starts only once its response is out. The
// handler calls Finished(requestID) as it returns.
type Invocations struct {
	mu   sync.Mutex
	done map[string]chan struct{}
}

func (iv *Invocations) ch(id string) chan struct{} {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.done == nil {
		iv.done = map[string]chan struct{}{}
	}
	c, ok := iv.done[id]
	if !ok {
		c = make(chan struct{})
		iv.done[id] = c
	}
	return c
}

// Finished records that the handler of requestID returned.
func (iv *Invocations) Finished(requestID string) {
	c := iv.ch(requestID)
	iv.mu.Lock()
	defer iv.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
	if len(iv.done) > 1024 { // finished invocations nobody waits for any more
		for id, d := range iv.done {
			select {
			case <-d:
				delete(iv.done, id)
			default:
			}
		}
	}
}

// wait blocks until requestID finished or ctx ends, then forgets it.
func (iv *Invocations) wait(ctx context.Context, requestID string) bool {
	c := iv.ch(requestID)
	defer func() {
		iv.mu.Lock()
		delete(iv.done, requestID)
		iv.mu.Unlock()
	}()
	select {
	case <-c:
		return true
	case <-ctx.Done():
		return false
	}
}

// AfterInvoke runs the extension's event loop until ctx ends or Next
// fails: for each INVOKE event it waits for that invocation's handler to
// return (iv) and then calls fn, before asking for the next event; fn's
// context ends at the invocation's deadline. It returns Next's error.
func (c *Client) AfterInvoke(ctx context.Context, iv *Invocations, fn func(ctx context.Context, ev Event)) error {
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if ev.EventType != Invoke {
			continue
		}
		dctx, cancel := context.WithDeadline(ctx, ev.Deadline())
		if iv.wait(dctx, ev.RequestID) {
			fn(dctx, ev)
		}
		cancel()
	}
}
