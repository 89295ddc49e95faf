// Package app wires edgefn: configuration, secrets, the bundle source, the
// handlers, and either `edgefn serve` (an HTTP server) or the Lambda
// runtime loop (when AWS_LAMBDA_RUNTIME_API is set). cmd/edgefn only calls
// Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/api"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/config"
	"github.com/edgeflag/edgeflag/edgefn/events"
	"github.com/edgeflag/edgeflag/edgefn/lambda"
	"github.com/edgeflag/edgeflag/edgefn/lambdaext"
	"github.com/edgeflag/edgeflag/edgefn/metrics"
	"github.com/edgeflag/edgeflag/edgefn/secrets"
	"github.com/edgeflag/edgeflag/edgefn/source"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitInvalid = 1 // usage or configuration error
	ExitFailure = 2 // anything else
)

// usageError marks errors that exit with ExitInvalid.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func invalid(err error) error { return &usageError{err} }

// ExitCode maps Run's error to the process exit code.
func ExitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		return ExitInvalid
	}
	return ExitFailure
}

// Env is the process environment Run works in.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Secrets resolves secret references (default: files, SSM and Secrets
	// Manager through the AWS default configuration).
	Secrets *secrets.Resolver
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Run runs edgefn with the process's environment.
func Run(ctx context.Context, args []string) error {
	return (&Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}).Run(ctx, args)
}

const usage = `usage:
  edgefn serve --store URL --project P --env ENV --jwks FILE --api-keys REF --token-key REF [--addr 127.0.0.1:8080] [flags]
  edgefn help
With AWS_LAMBDA_RUNTIME_API set, edgefn is the Lambda function and reads only EDGEFN_* variables.
Run 'edgefn serve -h' for every flag; docs/operations.md describes them.
`

// Run runs one edgefn command.
func (e *Env) Run(ctx context.Context, args []string) error {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Secrets == nil {
		e.Secrets = awsSecrets()
	}
	if e.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return e.lambda(ctx)
	}
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, usage)
		return invalid(errors.New("no command"))
	}
	switch args[0] {
	case "serve":
		return e.serve(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(e.Stdout, usage)
		return nil
	}
	fmt.Fprint(e.Stderr, usage)
	return invalid(fmt.Errorf("unknown command %q", args[0]))
}

func awsSecrets() *secrets.Resolver {
	return &secrets.Resolver{
		SSM: func(ctx context.Context) (secrets.SSM, error) {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("load AWS config: %w", err)
			}
			return ssm.NewFromConfig(cfg), nil
		},
		SecretsManager: func(ctx context.Context) (secrets.SecretsManager, error) {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("load AWS config: %w", err)
			}
			return secretsmanager.NewFromConfig(cfg), nil
		},
	}
}

// parts is everything built from a configuration.
type parts struct {
	log     *slog.Logger
	src     *source.Source
	metrics *metrics.Registry
	events  *events.Writer
	apiCfg  api.Config
}

func logger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // config.check accepted it
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// build turns a configuration into a source and handler configuration.
func (e *Env) build(ctx context.Context, cfg config.Config, log *slog.Logger) (*parts, error) {
	jwks := []byte(cfg.JWKS)
	if !strings.HasPrefix(strings.TrimSpace(cfg.JWKS), "{") {
		data, err := os.ReadFile(cfg.JWKS)
		if err != nil {
			return nil, invalid(fmt.Errorf("read trusted bundle keys: %w", err))
		}
		jwks = data
	}
	trusted, err := source.ParseJWKS(jwks)
	if err != nil {
		return nil, invalid(fmt.Errorf("trusted bundle keys: %w", err))
	}
	keysData, err := e.Secrets.Resolve(ctx, cfg.APIKeys, false)
	if err != nil {
		return nil, invalid(fmt.Errorf("api keys: %w", err))
	}
	ks, err := auth.ParseKeys(keysData)
	if err != nil {
		return nil, invalid(err)
	}
	tokData, err := e.Secrets.Resolve(ctx, cfg.TokenKey, true)
	if err != nil {
		return nil, invalid(fmt.Errorf("token key: %w", err))
	}
	tk, err := auth.ParseTokenKeys(tokData)
	if err != nil {
		return nil, invalid(err)
	}
	rates, err := auth.ParseRates(cfg.RateLimits, api.Routes)
	if err != nil {
		return nil, invalid(err)
	}
	b, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, invalid(err)
	}
	src, err := source.Open(ctx, source.Config{Store: b, Keys: trusted, Project: cfg.Project, Environment: cfg.Env,
		CacheDir: cfg.CacheDir, Timeout: cfg.RefreshTimeout, Now: e.Now, Logger: log})
	if err != nil {
		return nil, err
	}
	reg := metrics.New(api.Routes)
	w, err := events.NewWriter(events.Config{Store: b, Project: cfg.Project, Environment: cfg.Env, MaxAge: cfg.EventsMaxAge, Now: e.Now, Logger: log})
	if err != nil {
		return nil, invalid(err)
	}
	return &parts{log: log, src: src, metrics: reg, events: w, apiCfg: api.Config{
		Source: src, Auth: &auth.Authenticator{Keys: ks, Tokens: tk, Project: cfg.Project, Environment: cfg.Env},
		Rates: rates, Metrics: reg, Logger: log, CORSOrigins: cfg.Origins(), Now: e.Now,
		Track: &events.Track{Writer: w, Now: e.Now, Logger: log},
		Exposures: &events.Exposures{Writer: w, Environment: cfg.Env, Window: cfg.ExposureWindow, Logger: log,
			ServerMetadata: serverMetadata(src, e.Now)},
	}}, nil
}

// serverMetadata returns a flag's metadata in the served server bundle
// (the engine hands it out with any result).
func serverMetadata(src *source.Source, now func() time.Time) func(string) []ir.Meta {
	return func(flag string) []ir.Meta {
		s := src.Current()
		if s == nil || s.Server.Engine == nil {
			return nil
		}
		return s.Server.Engine.Evaluate(flag, nil, now()).Metadata
	}
}

// ShutdownFlush bounds the final write of buffered events in serve; the
// Lambda gets ShutdownFlushLambda (it has 500 ms from SIGTERM to exit).
const (
	ShutdownFlush       = 10 * time.Second
	ShutdownFlushLambda = 400 * time.Millisecond
)

// flushEvents writes every buffered event and summary before the process
// exits; what cannot be written is logged as lost.
func flushEvents(log *slog.Logger, w *events.Writer, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err := w.Close(ctx)
	st := w.Stats()
	if err != nil {
		log.Error("events NOT written before exit: they are lost", "buffered", st.Buffered, "error", err.Error())
		return fmt.Errorf("flush events: %w", err)
	}
	log.Info("events written", "accepted", st.Accepted, "written", st.Written, "batches", st.Batches)
	return nil
}

func (e *Env) serve(ctx context.Context, args []string) error {
	cfg, err := config.Parse(args, e.Getenv, e.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return err
	}
	if err != nil {
		return invalid(err)
	}
	logCtx, stopLog := context.WithCancel(context.Background())
	logs := newLogBuffer(logCtx, e.Stderr)
	defer func() {
		stopLog()
		logs.Flush()
	}()
	log := logger(logs, cfg.LogLevel)
	p, err := e.build(ctx, cfg, log)
	if err != nil {
		return err
	}
	shutdown := make(chan struct{})
	p.apiCfg.Stream, p.apiCfg.Shutdown = true, shutdown
	h, err := api.New(p.apiCfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	url := "http://" + ln.Addr().String()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	go p.src.Run(refreshCtx, cfg.RefreshInterval)
	p.events.Run()

	snap := p.src.Current()
	fmt.Fprintf(e.Stdout, "edgefn: serving %s/%s version %d on %s\n", cfg.Project, cfg.Env, snap.Version, url)
	log.Info("serving", "addr", url, "project", cfg.Project, "environment", cfg.Env, "version", snap.Version, "origin", snap.Origin)
	if cfg.ReadyFile != "" {
		if err := writeReady(cfg.ReadyFile, url); err != nil {
			srv.Close()
			return err
		}
	}
	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("serve: %w", err), flushEvents(log, p.events, ShutdownFlush))
	case <-ctx.Done():
	}
	close(shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var serr error
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		serr = fmt.Errorf("shut down: %w", err)
	}
	// In-flight requests are done: what they accepted is in the buffer.
	if err := errors.Join(serr, flushEvents(log, p.events, ShutdownFlush)); err != nil {
		return err
	}
	log.Info("stopped")
	fmt.Fprintln(e.Stdout, "edgefn: stopped")
	return nil
}

// writeReady writes the listen URL atomically, so a watcher never reads
// half of it.
func writeReady(path, url string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(url + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

// lambda initializes the function from EDGEFN_* variables and runs the
// runtime loop. An error here is a failed init: Lambda reports it and
// retries with a new instance.
func (e *Env) lambda(ctx context.Context) error {
	cfg, err := config.FromEnv(e.Getenv)
	if err != nil {
		return invalid(err)
	}
	log := logger(e.Stdout, cfg.LogLevel)
	p, err := e.build(ctx, cfg, log)
	if err != nil {
		log.Error("init failed", "error", err.Error())
		return err
	}
	p.apiCfg.RequestID = lambda.RequestID
	h, err := api.New(p.apiCfg)
	if err != nil {
		return err
	}
	done := e.lambdaEvents(ctx, log, p.events)
	fn := lambda.New(lambda.Config{Handler: h, Source: p.src, RefreshInterval: cfg.RefreshInterval, Metrics: p.metrics,
		EMF: e.Stdout, Project: cfg.Project, Environment: cfg.Env, Now: e.Now, Done: done})
	log.Info("lambda ready", "project", cfg.Project, "environment", cfg.Env, "version", p.src.Current().Version)
	go lambda.Start(ctx, fn) // returns only by exiting the process
	<-ctx.Done()             // SIGTERM: Lambda is shutting the environment down
	return flushEvents(log, p.events, ShutdownFlushLambda)
}

// lambdaEvents arranges for buffered events to be written in a Lambda,
// where nothing runs between invocations: an internal extension
// registered for INVOKE writes what is due (MaxAge passed, a batch full)
// after each invocation's response is out, and its registration makes
// Lambda send SIGTERM before it removes the environment, when the rest is
// written. Without the extension (registration refused), what is due is
// written at the end of each invocation instead. It returns the
// invocation's completion hook (lambda.Config.Done).
func (e *Env) lambdaEvents(ctx context.Context, log *slog.Logger, w *events.Writer) func(context.Context) {
	flushDue := func(ictx context.Context) {
		if err := w.FlushDue(ictx); err != nil {
			log.Warn("events not written yet; kept for the next attempt", "error", err.Error())
		}
	}
	ext, err := lambdaext.Register(ctx, e.Getenv("AWS_LAMBDA_RUNTIME_API"), "edgefn-events", lambdaext.Invoke)
	if err != nil {
		log.Warn("no internal extension: events are written at the end of invocations, and not on shutdown", "error", err.Error())
		return flushDue
	}
	var iv lambdaext.Invocations
	go func() {
		err := ext.AfterInvoke(ctx, &iv, func(ictx context.Context, _ lambdaext.Event) { flushDue(ictx) })
		if ctx.Err() == nil {
			log.Error("events extension stopped", "error", err.Error())
		}
	}()
	return func(ictx context.Context) { iv.Finished(lambda.InvocationID(ictx)) }
}
