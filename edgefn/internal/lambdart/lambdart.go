// Package lambdart is an in-repo implementation of the AWS Lambda Runtime
// API (2018-06-01) and Extensions API (2020-01-01), for tests that run a
// real Lambda bootstrap binary (edgefn built with -tags lambda.norpc) on
// 127.0.0.1, without AWS or the Runtime Interface Emulator.
//
// A Server plays the Lambda service for one execution environment:
//
//	srv, err := lambdart.Start(lambdart.Config{Timeout: 3 * time.Second})
//	defer srv.Close()
//	proc, err := srv.StartProcess("./bootstrap", []string{"EDGEFN_STORE=file:///tmp/s"})
//	err = srv.WaitInit(ctx)                       // runtime and extensions ready
//	res, err := srv.Invoke(ctx, payload)          // one invocation, JSON in and out
//	client := &http.Client{Transport: srv.Transport()} // or: function-URL requests
//	resp, err := client.Get("http://fn.lambda-url.test/healthz")
//	rep, err := srv.Shutdown(ctx, lambdart.ReasonSpindown) // SIGTERM, limits, SIGKILL
//
// What it implements, as AWS documents it (docs.aws.amazon.com/lambda,
// "Runtime API" and "Extensions API"):
//
//   - GET  /2018-06-01/runtime/invocation/next: blocks until an invocation,
//     then answers its payload with the headers Lambda-Runtime-Aws-Request-Id,
//     Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn and
//     Lambda-Runtime-Trace-Id.
//   - POST /2018-06-01/runtime/invocation/{id}/response and /error (202;
//     400 for an unknown id or a second answer, 413 over 6 MB), with
//     Lambda-Runtime-Function-Error-Type on errors; POST /runtime/init/error.
//   - POST /2020-01-01/extension/register with Lambda-Extension-Name and
//     {"events": [...]} (INVOKE, SHUTDOWN): 200 with
//     Lambda-Extension-Identifier and {functionName, functionVersion,
//     handler} (+ accountId with Lambda-Extension-Accept-Feature:
//     accountId). Up to 10 extensions; registration closes when the
//     runtime first asks for an invocation (403 after). Internal extensions
//     may not register for SHUTDOWN (400); names listed in
//     Config.ExternalExtensions count as external extensions.
//   - GET /2020-01-01/extension/event/next with Lambda-Extension-Identifier:
//     INVOKE {eventType, deadlineMs, requestId, invokedFunctionArn, tracing}
//     and SHUTDOWN {eventType, shutdownReason, deadlineMs} events;
//     POST /extension/init/error and /extension/exit/error (202).
//   - Phases: Init ends when the runtime and every registered extension
//     have called next. An invocation goes to the runtime and to every
//     extension registered for INVOKE; its answer is returned to the caller
//     as soon as the runtime posts it, but the Invoke phase (and the
//     environment) is busy until the runtime and those extensions have all
//     called next again. Invocations are one at a time.
//   - Freeze (Config.Freeze): between phases the process is stopped
//     (SIGSTOP) and continued (SIGCONT) for the next event, as Lambda
//     freezes an idle environment, so background goroutines do not run
//     between invocations.
//   - Timeout: an invocation (or its phase) that outlives Config.Timeout
//     answers StatusTimeout and resets the environment like a shutdown
//     with reason "timeout".
//   - Shutdown: the runtime process gets SIGTERM when any extension is
//     registered (otherwise it is killed at once), external extensions
//     registered for SHUTDOWN get the event; the process has 500 ms to
//     exit (2 s with an external extension) before SIGKILL.
package lambdart

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names of the Runtime and Extensions APIs.
const (
	HeaderRequestID        = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs       = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionArn      = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID          = "Lambda-Runtime-Trace-Id"
	HeaderFunctionError    = "Lambda-Runtime-Function-Error-Type"
	HeaderExtensionName    = "Lambda-Extension-Name"
	HeaderExtensionID      = "Lambda-Extension-Identifier"
	HeaderExtensionError   = "Lambda-Extension-Function-Error-Type"
	HeaderExtensionFeature = "Lambda-Extension-Accept-Feature"
)

// Shutdown reasons (the Extensions API's shutdownReason values).
const (
	ReasonSpindown = "spindown"
	ReasonTimeout  = "timeout"
	ReasonFailure  = "failure"
)

// Limits Lambda applies.
const (
	MaxResponse      = 6 << 20 // synchronous invocation response
	MaxExtensions    = 10
	ShutdownNone     = 0                      // no extension: SIGKILL at once
	ShutdownInternal = 500 * time.Millisecond // only internal extensions
	ShutdownExternal = 2 * time.Second        // with an external extension
)

// Config describes the function.
type Config struct {
	FunctionName, FunctionVersion, Handler string
	Region, AccountID                      string
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128).
	MemoryMB int
	// Timeout is the function timeout (default 3 s).
	Timeout time.Duration
	// InitTimeout bounds the Init phase (default 10 s, as Lambda).
	InitTimeout time.Duration
	// ExternalExtensions are the extension names that count as external
	// (only those may register for SHUTDOWN).
	ExternalExtensions []string
	// Freeze stops the process between phases (SIGSTOP/SIGCONT).
	Freeze bool
}

func (c *Config) defaults() {
	if c.FunctionName == "" {
		c.FunctionName = "edgefn"
	}
	if c.FunctionVersion == "" {
		c.FunctionVersion = "$LATEST"
	}
	if c.Handler == "" {
		c.Handler = "bootstrap"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.AccountID == "" {
		c.AccountID = "123456789012"
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = 128
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = 10 * time.Second
	}
}

// FunctionArn is the function's ARN.
func (c Config) FunctionArn() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", c.Region, c.AccountID, c.FunctionName)
}

// Status is how an invocation ended.
type Status string

// Invocation outcomes.
const (
	StatusSuccess Status = "success" // the runtime posted a response
	StatusError   Status = "error"   // the runtime posted an error
	StatusTimeout Status = "timeout" // no answer within the timeout
	StatusCrash   Status = "crash"   // the process exited during the invocation
)

// Result is one invocation's outcome.
type Result struct {
	RequestID string
	Status    Status
	// Payload is the response body (success) or the error document.
	Payload []byte
	// ErrorType is the error's type (Lambda-Runtime-Function-Error-Type,
	// else the document's errorType).
	ErrorType string
	// Duration runs from dispatch to the answer.
	Duration time.Duration
}

// Extension describes a registered extension.
type Extension struct {
	Name     string
	ID       string
	Events   []string
	External bool
	// Errors are the errorType values it reported (init/error, exit/error).
	Errors []string
}

// ErrorReport is an error a runtime reported during Init.
type ErrorReport struct {
	ErrorType string
	Body      []byte
}

// Server is the Lambda service of one execution environment.
type Server struct {
	cfg Config
	ln  net.Listener
	srv *http.Server

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every state change
	regClosed     bool
	runtimeCalled bool // the runtime asked for an invocation at least once
	runtimeReady  bool // the runtime is waiting in next
	exts          []*ext
	inv           *invocation // the invocation of the current phase
	initErr       *ErrorReport
	shutdown      bool
	frozen        bool
	proc          *Process
	runtimeQ      chan *invocation

	invokeMu sync.Mutex // one invocation at a time
}

type ext struct {
	Extension
	ready bool
	q     chan []byte // events to deliver
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	start    time.Time
	trace    string
	answered bool
	result   chan Result
}

// Start listens on 127.0.0.1 (a free port) and serves the APIs.
func Start(cfg Config) (*Server, error) {
	cfg.defaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start runtime API: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, changed: make(chan struct{}), runtimeQ: make(chan *invocation, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.runtimeNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.runtimeAnswer(StatusSuccess))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.runtimeAnswer(StatusError))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.runtimeInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", s.extRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", s.extNext)
	mux.HandleFunc("POST /2020-01-01/extension/init/error", s.extError)
	mux.HandleFunc("POST /2020-01-01/extension/exit/error", s.extError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API ("127.0.0.1:PORT").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Config is the server's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Close kills the process if it still runs and stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	p := s.proc
	s.shutdown = true
	s.notify()
	s.mu.Unlock()
	if p != nil {
		p.kill()
		<-p.exited
	}
	return s.srv.Close()
}

// notify wakes everyone waiting for a state change. Called with mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (evaluated with mu held) is true, ctx ends or
// the deadline passes.
func (s *Server) waitFor(ctx context.Context, deadline time.Time, cond func() bool) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return errDeadline
		}
	}
}

var errDeadline = errors.New("deadline passed")

// idle reports whether the runtime and every extension wait in next (the
// previous phase is over). Called with mu held.
func (s *Server) idle() bool {
	if !s.runtimeReady {
		return false
	}
	for _, e := range s.exts {
		if !e.ready {
			return false
		}
	}
	return true
}

// Extensions lists the registered extensions.
func (s *Server) Extensions() []Extension {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Extension, len(s.exts))
	for i, e := range s.exts {
		out[i] = e.Extension
		out[i].Events = slices.Clone(e.Events)
		out[i].Errors = slices.Clone(e.Errors)
	}
	return out
}

// InitError is the error the runtime reported during Init, if any.
func (s *Server) InitError() *ErrorReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// WaitInit waits until the Init phase is over: the runtime and every
// registered extension asked for their next event, within InitTimeout.
func (s *Server) WaitInit(ctx context.Context) error {
	err := s.waitFor(ctx, time.Now().Add(s.cfg.InitTimeout), func() bool {
		return s.initErr != nil || s.procExited() || (s.runtimeCalled && s.idle())
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.initErr != nil:
		return fmt.Errorf("init: the runtime reported %s: %s", s.initErr.ErrorType, bytes.TrimSpace(s.initErr.Body))
	case s.procExited():
		return fmt.Errorf("init: the process exited: %v", s.proc.exitErr)
	case errors.Is(err, errDeadline):
		return fmt.Errorf("init: not done within %v (runtime waiting: %v)", s.cfg.InitTimeout, s.runtimeReady)
	}
	return err
}

// procExited reports whether the process ended. Called with mu held.
func (s *Server) procExited() bool {
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.exited:
		return true
	default:
		return false
	}
}

// apiError answers in the Lambda APIs' error shape.
func apiError(w http.ResponseWriter, status int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errorType, "errorMessage": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// runtimeNext serves GET /runtime/invocation/next.
func (s *Server) runtimeNext(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.inv != nil && !s.inv.answered {
		s.mu.Unlock()
		apiError(w, http.StatusBadRequest, "InvalidStateTransition", "next called before the current invocation was answered")
		return
	}
	s.runtimeCalled, s.runtimeReady, s.regClosed = true, true, true
	s.notify()
	s.freezeIfIdle()
	s.mu.Unlock()
	select {
	case inv := <-s.runtimeQ:
		h := w.Header()
		h.Set(HeaderRequestID, inv.id)
		h.Set(HeaderDeadlineMs, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(HeaderFunctionArn, s.cfg.FunctionArn())
		h.Set(HeaderTraceID, inv.trace)
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
		s.mu.Lock()
		s.runtimeReady = false
		s.notify()
		s.mu.Unlock()
	}
}

// freezeIfIdle stops the process when a phase just ended. Called with mu held.
func (s *Server) freezeIfIdle() {
	if s.cfg.Freeze && s.proc != nil && !s.frozen && !s.shutdown && s.runtimeCalled && s.idle() {
		if s.proc.signalStop() == nil {
			s.frozen = true
		}
	}
}

// thaw continues a frozen process. Called with mu held.
func (s *Server) thaw() {
	if s.frozen {
		_ = s.proc.signalCont()
		s.frozen = false
	}
}

// runtimeAnswer serves /response and /error.
func (s *Server) runtimeAnswer(status Status) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
		if err != nil {
			apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		id := r.PathValue("id")
		s.mu.Lock()
		inv := s.inv
		if inv == nil || inv.id != id {
			s.mu.Unlock()
			apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+id+" in progress")
			return
		}
		if inv.answered {
			s.mu.Unlock()
			apiError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" was already answered")
			return
		}
		res := Result{RequestID: id, Status: status, Payload: body, Duration: time.Since(inv.start)}
		if len(body) > MaxResponse {
			res = Result{RequestID: id, Status: StatusError, ErrorType: "Function.ResponseSizeTooLarge",
				Payload: []byte(`{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"response payload larger than 6291456 bytes"}`), Duration: res.Duration}
		}
		if status == StatusError && res.ErrorType == "" {
			res.ErrorType = r.Header.Get(HeaderFunctionError)
			if res.ErrorType == "" {
				var doc struct {
					ErrorType string `json:"errorType"`
				}
				_ = json.Unmarshal(body, &doc)
				res.ErrorType = doc.ErrorType
			}
		}
		inv.answered = true
		inv.result <- res
		s.notify()
		s.mu.Unlock()
		if len(body) > MaxResponse {
			apiError(w, http.StatusRequestEntityTooLarge, "Function.ResponseSizeTooLarge", "response payload larger than 6 MB")
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}
}

func (s *Server) runtimeInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	et := r.Header.Get(HeaderFunctionError)
	if et == "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		_ = json.Unmarshal(body, &doc)
		et = doc.ErrorType
	}
	s.mu.Lock()
	s.initErr = &ErrorReport{ErrorType: et, Body: body}
	s.notify()
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// extRegister serves POST /extension/register.
func (s *Server) extRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(HeaderExtensionName)
	if name == "" {
		apiError(w, http.StatusBadRequest, "Extension.MissingHeader", HeaderExtensionName+" is required")
		return
	}
	var body struct {
		Events []string `json:"events"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&body)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestFormat", "register body: "+err.Error())
		return
	}
	external := slices.Contains(s.cfg.ExternalExtensions, name)
	for _, ev := range body.Events {
		switch ev {
		case "INVOKE":
		case "SHUTDOWN":
			if !external {
				apiError(w, http.StatusBadRequest, "ShutdownEventNotSupportedForInternalExtension",
					"internal extensions may not register for SHUTDOWN (they receive SIGTERM instead)")
				return
			}
		default:
			apiError(w, http.StatusBadRequest, "InvalidEventType", fmt.Sprintf("unknown event type %q (want INVOKE or SHUTDOWN)", ev))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.regClosed || s.shutdown:
		apiError(w, http.StatusForbidden, "Extension.InvalidPhase", "extensions register during Init, before the runtime asks for its first invocation")
		return
	case len(s.exts) >= MaxExtensions:
		apiError(w, http.StatusBadRequest, "TooManyExtensions", fmt.Sprintf("at most %d extensions", MaxExtensions))
		return
	}
	for _, e := range s.exts {
		if e.Name == name {
			apiError(w, http.StatusBadRequest, "Extension.AlreadyRegistered", fmt.Sprintf("extension %q is already registered", name))
			return
		}
	}
	e := &ext{Extension: Extension{Name: name, ID: newID(), Events: slices.Clone(body.Events), External: external}, q: make(chan []byte, 4)}
	s.exts = append(s.exts, e)
	s.notify()
	answer := map[string]string{"functionName": s.cfg.FunctionName, "functionVersion": s.cfg.FunctionVersion, "handler": s.cfg.Handler}
	if strings.Contains(r.Header.Get(HeaderExtensionFeature), "accountId") {
		answer["accountId"] = s.cfg.AccountID
	}
	w.Header().Set(HeaderExtensionID, e.ID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func (s *Server) extByID(id string) *ext {
	for _, e := range s.exts {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// extNext serves GET /extension/event/next.
func (s *Server) extNext(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e := s.extByID(r.Header.Get(HeaderExtensionID))
	if e == nil {
		s.mu.Unlock()
		apiError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown "+HeaderExtensionID)
		return
	}
	e.ready = true
	s.notify()
	s.freezeIfIdle()
	s.mu.Unlock()
	select {
	case ev := <-e.q:
		w.Header().Set(HeaderExtensionID, e.ID)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ev)
	case <-r.Context().Done():
		s.mu.Lock()
		e.ready = false
		s.notify()
		s.mu.Unlock()
	}
}

// extError serves /extension/init/error and /extension/exit/error.
func (s *Server) extError(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.extByID(r.Header.Get(HeaderExtensionID))
	if e == nil {
		apiError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown "+HeaderExtensionID)
		return
	}
	e.Errors = append(e.Errors, r.Header.Get(HeaderExtensionError))
	w.Header().Set(HeaderExtensionID, e.ID)
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}
