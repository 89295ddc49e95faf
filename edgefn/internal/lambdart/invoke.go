package lambdart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is the bootstrap process the server runs.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	out     *syncBuffer
}

// syncBuffer collects output from several writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
	tee func([]byte)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if b.tee != nil {
		b.tee(p)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Output is what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitErr is the process's exit error (nil for exit status 0) once
// Exited is closed.
func (p *Process) ExitErr() error {
	<-p.exited
	return p.exitErr
}

func (p *Process) kill()             { _ = p.cmd.Process.Kill() }
func (p *Process) signalStop() error { return p.cmd.Process.Signal(syscall.SIGSTOP) }
func (p *Process) signalCont() error { return p.cmd.Process.Signal(syscall.SIGCONT) }
func (p *Process) signalTerm() error { return p.cmd.Process.Signal(syscall.SIGTERM) }

// StartProcess starts the bootstrap at path with the environment Lambda
// gives a custom runtime (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION,
// AWS_DEFAULT_REGION, _HANDLER, LAMBDA_TASK_ROOT,
// AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME) plus env (which
// wins). PATH and HOME are passed on; nothing else of the test's
// environment is. tee, when set, receives the output as it comes.
func (s *Server) StartProcess(path string, env []string, tee func([]byte)) (*Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil, errors.New("start process: this environment already runs one")
	}
	c := s.cfg
	base := []string{
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION=" + c.FunctionVersion,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemoryMB),
		"AWS_REGION=" + c.Region, "AWS_DEFAULT_REGION=" + c.Region,
		"_HANDLER=" + c.Handler, "LAMBDA_TASK_ROOT=/var/task",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/12/01/[$LATEST]" + newID()[:8],
		"TZ=:UTC",
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			base = append(base, k+"="+v)
		}
	}
	cmd := exec.Command(path)
	cmd.Env = append(base, env...)
	out := &syncBuffer{tee: tee}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start process: %w", err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{}), out: out}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
		s.mu.Lock()
		s.notify()
		s.mu.Unlock()
	}()
	s.proc = p
	return p, nil
}

// Invoke runs one invocation with payload (a JSON event) and returns its
// outcome once the runtime answered it. It waits, up to the function
// timeout, for the previous phase to end first; the first call waits for
// Init (WaitInit). An invocation without an answer within the timeout
// resets the environment (Shutdown with reason timeout) and returns
// StatusTimeout; a process that exits returns StatusCrash.
func (s *Server) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if !json.Valid(payload) {
		return Result{}, errors.New("invoke: the payload is not JSON")
	}
	s.invokeMu.Lock()
	defer s.invokeMu.Unlock()
	if err := s.WaitInit(ctx); err != nil {
		return Result{}, fmt.Errorf("invoke: %w", err)
	}
	s.mu.Lock()
	prev := s.inv
	s.mu.Unlock()
	if prev != nil {
		err := s.waitFor(ctx, prev.deadline, func() bool { return s.idle() || s.procExited() || s.shutdown })
		if errors.Is(err, errDeadline) {
			// The extensions outlived the previous invocation's timeout:
			// Lambda resets the environment.
			_, _ = s.Shutdown(ctx, ReasonTimeout)
			return Result{}, errors.New("invoke: the previous invocation's phase did not end within the timeout; the environment was reset")
		}
		if err != nil {
			return Result{}, fmt.Errorf("invoke: %w", err)
		}
	}
	now := time.Now()
	inv := &invocation{id: newID(), payload: payload, start: now, deadline: now.Add(s.cfg.Timeout), result: make(chan Result, 1),
		trace: fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), newID()[:8]+newID()[:16], newID()[:16])}
	s.mu.Lock()
	if s.shutdown || s.procExited() {
		s.mu.Unlock()
		return Result{}, errors.New("invoke: the environment is shut down")
	}
	s.thaw()
	s.inv = inv
	s.runtimeReady = false
	ev, _ := json.Marshal(map[string]any{"eventType": "INVOKE", "deadlineMs": inv.deadline.UnixMilli(), "requestId": inv.id,
		"invokedFunctionArn": s.cfg.FunctionArn(), "tracing": map[string]string{"type": "X-Amzn-Trace-Id", "value": inv.trace}})
	for _, e := range s.exts {
		for _, want := range e.Events {
			if want == "INVOKE" {
				e.ready = false
				e.q <- ev
			}
		}
	}
	s.runtimeQ <- inv
	exited := s.proc.exited
	s.notify()
	s.mu.Unlock()

	t := time.NewTimer(time.Until(inv.deadline))
	defer t.Stop()
	select {
	case res := <-inv.result:
		return res, nil
	case <-exited:
		select {
		case res := <-inv.result:
			return res, nil
		default:
		}
		return Result{RequestID: inv.id, Status: StatusCrash, ErrorType: "Runtime.ExitError", Duration: time.Since(now)}, nil
	case <-t.C:
		_, _ = s.Shutdown(context.Background(), ReasonTimeout)
		return Result{RequestID: inv.id, Status: StatusTimeout, ErrorType: "Sandbox.Timedout", Duration: time.Since(now),
			Payload: []byte(fmt.Sprintf(`{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after %.2f seconds"}`, s.cfg.Timeout.Seconds()))}, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// WaitIdle waits until the current phase is over (the runtime and every
// extension asked for their next event again) or ctx ends: after an
// invocation, work its extensions do after the response is done then.
func (s *Server) WaitIdle(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.Timeout)
	s.mu.Lock()
	if s.inv != nil {
		deadline = s.inv.deadline
	}
	s.mu.Unlock()
	err := s.waitFor(ctx, deadline, func() bool { return s.idle() || s.procExited() })
	if errors.Is(err, errDeadline) {
		return errors.New("wait idle: the phase did not end within the function timeout")
	}
	return err
}

// ShutdownReport says how a shutdown went.
type ShutdownReport struct {
	Reason string
	// Signaled: the process got SIGTERM (some extension was registered).
	Signaled bool
	// Limit is the time the process was given to exit.
	Limit time.Duration
	// Exited: the process ended within the limit; Killed: it got SIGKILL.
	Exited, Killed bool
	// ExitErr is the process's exit error (nil for status 0).
	ExitErr error
	// Elapsed runs from the signal to the process's end.
	Elapsed time.Duration
}

// Shutdown ends the environment as Lambda does: external extensions
// registered for SHUTDOWN get the event (reason, deadline), the runtime
// process gets SIGTERM when any extension is registered and then has
// ShutdownInternal (ShutdownExternal with an external extension) to exit
// before SIGKILL; with no extension it is killed at once.
func (s *Server) Shutdown(ctx context.Context, reason string) (ShutdownReport, error) {
	rep := ShutdownReport{Reason: reason}
	s.mu.Lock()
	p := s.proc
	if p == nil {
		s.mu.Unlock()
		return rep, errors.New("shutdown: no process")
	}
	if s.shutdown {
		s.mu.Unlock()
		<-p.exited
		rep.ExitErr = p.exitErr
		return rep, errors.New("shutdown: already shut down")
	}
	s.shutdown = true
	s.thaw()
	external := false
	for _, e := range s.exts {
		external = external || e.External
	}
	switch {
	case len(s.exts) == 0:
		rep.Limit = ShutdownNone
	case external:
		rep.Limit = ShutdownExternal
	default:
		rep.Limit = ShutdownInternal
	}
	start := time.Now()
	ev, _ := json.Marshal(map[string]any{"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": start.Add(rep.Limit).UnixMilli()})
	for _, e := range s.exts {
		for _, want := range e.Events {
			if want == "SHUTDOWN" {
				select {
				case e.q <- ev:
				default:
				}
			}
		}
	}
	s.notify()
	s.mu.Unlock()
	if rep.Limit > 0 {
		rep.Signaled = p.signalTerm() == nil
	}
	t := time.NewTimer(rep.Limit)
	defer t.Stop()
	select {
	case <-p.exited:
		rep.Exited = true
	case <-t.C:
		p.kill()
		rep.Killed = true
		<-p.exited
	case <-ctx.Done():
		p.kill()
		rep.Killed = true
		<-p.exited
	}
	rep.Elapsed = time.Since(start)
	rep.ExitErr = p.exitErr
	return rep, nil
}
