// Package config reads edgefn's configuration: command-line flags of
// `edgefn serve` and, for every flag, an environment variable
// EDGEFN_<FLAG> (upper case, '-' becomes '_'); a flag wins over its
// variable. The Lambda function reads only the variables. docs/operations.md
// lists every setting.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Config is edgefn's configuration.
type Config struct {
	// Store is the bundle store URL: file://PATH or s3://bucket/prefix.
	Store string
	// Project and Env name what is served.
	Project, Env string
	// JWKS is the trusted bundle keys: a file path, or the JWKS JSON
	// itself when it starts with '{' (public keys are not secret).
	JWKS string
	// APIKeys and TokenKey are secret references (file path, ssm:NAME,
	// secretsmanager:ARN-or-NAME).
	APIKeys, TokenKey string
	// Addr is where `serve` listens.
	Addr string
	// CacheDir keeps the last verified bundles for a start without the
	// store ("" : none; Lambda default /tmp/edgefn).
	CacheDir string
	// RefreshInterval is the pointer check period (serve: a ticker;
	// Lambda: the minimum time between checks, made on invocation).
	RefreshInterval time.Duration
	// RefreshTimeout bounds one refresh.
	RefreshTimeout time.Duration
	// RateLimits overrides the per-credential rate limits (see
	// docs/operations.md).
	RateLimits string
	// CORSOrigins is a comma-separated list of allowed browser origins;
	// "*" (the default) allows any.
	CORSOrigins string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// ReadyFile, when set, is written with the listen URL once `serve`
	// accepts connections.
	ReadyFile string
	// EventsMaxAge is how long tracked events wait in memory before their
	// batch is written (and the analytics summary interval).
	EventsMaxAge time.Duration
	// ExposureWindow: an evaluation records a unit's exposure to a variant
	// of a running experiment once within this window.
	ExposureWindow time.Duration
}

// Defaults.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultRefreshInterval = 15 * time.Second
	DefaultRefreshTimeout  = 5 * time.Second
	DefaultLambdaCacheDir  = "/tmp/edgefn"
	DefaultEventsMaxAge    = 30 * time.Second
	DefaultExposureWindow  = 24 * time.Hour
)

// ErrHelp is returned when the usage was asked for.
var ErrHelp = flag.ErrHelp

type setting struct {
	name, usage string
	str         *string
	dur         *time.Duration
	serveOnly   bool
}

func (c *Config) settings() []setting {
	return []setting{
		{name: "store", usage: "bundle store `URL`: file://PATH or s3://bucket/prefix[?region=R&endpoint=URL&pathStyle=true]", str: &c.Store},
		{name: "project", usage: "`project` to serve", str: &c.Project},
		{name: "env", usage: "`environment` to serve", str: &c.Env},
		{name: "jwks", usage: "trusted bundle keys: a JWKS `FILE`, or the JWKS JSON itself", str: &c.JWKS},
		{name: "api-keys", usage: "API keys file `REF`erence: a path, ssm:NAME or secretsmanager:ARN", str: &c.APIKeys},
		{name: "token-key", usage: "token key `REF`erence (private JWK or JWK set): a path, ssm:NAME or secretsmanager:ARN", str: &c.TokenKey},
		{name: "addr", usage: "listen `address` (host:port; port 0 picks one)", str: &c.Addr, serveOnly: true},
		{name: "cache-dir", usage: "`DIR` for the local copy of the last verified bundles", str: &c.CacheDir},
		{name: "refresh-interval", usage: "how often to check the store (`DURATION`)", dur: &c.RefreshInterval},
		{name: "refresh-timeout", usage: "bound on one store check (`DURATION`)", dur: &c.RefreshTimeout},
		{name: "rate-limits", usage: "per-credential limits, e.g. ofrep=200/s:400,tokens=60/m (`SPEC`)", str: &c.RateLimits},
		{name: "cors-origins", usage: "comma-separated allowed browser `origins` (* = any)", str: &c.CORSOrigins},
		{name: "log-level", usage: "`level`: debug, info, warn, error", str: &c.LogLevel},
		{name: "ready-file", usage: "`FILE` to write the listen URL to once serving", str: &c.ReadyFile, serveOnly: true},
		{name: "events-max-age", usage: "longest wait of a tracked event before its batch is written (`DURATION`)", dur: &c.EventsMaxAge},
		{name: "exposure-window", usage: "record a unit's exposure to a variant once within this `DURATION`", dur: &c.ExposureWindow},
	}
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return "EDGEFN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse reads `edgefn serve` arguments over the environment.
func Parse(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	return parse(args, getenv, usage, false)
}

// FromEnv reads the Lambda configuration: the variables only.
func FromEnv(getenv func(string) string) (Config, error) {
	return parse(nil, getenv, io.Discard, true)
}

func parse(args []string, getenv func(string) string, usage io.Writer, lambda bool) (Config, error) {
	c := Config{Addr: DefaultAddr, RefreshInterval: DefaultRefreshInterval, RefreshTimeout: DefaultRefreshTimeout, CORSOrigins: "*", LogLevel: "info",
		EventsMaxAge: DefaultEventsMaxAge, ExposureWindow: DefaultExposureWindow}
	if lambda {
		c.CacheDir = DefaultLambdaCacheDir
	}
	fs := flag.NewFlagSet("edgefn serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	ss := c.settings()
	for _, s := range ss {
		if lambda && s.serveOnly {
			continue
		}
		u := s.usage + " (env " + EnvName(s.name) + ")"
		if v := getenv(EnvName(s.name)); v != "" {
			if s.str != nil {
				*s.str = v
			} else {
				d, err := time.ParseDuration(v)
				if err != nil {
					return c, fmt.Errorf("%s: %w", EnvName(s.name), err)
				}
				*s.dur = d
			}
		}
		if s.str != nil {
			fs.StringVar(s.str, s.name, *s.str, u)
		} else {
			fs.DurationVar(s.dur, s.name, *s.dur, u)
		}
	}
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: edgefn serve --store URL --project P --env ENV --jwks FILE --api-keys REF --token-key REF [--addr 127.0.0.1:8080] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.check(lambda)
}

func (c *Config) check(lambda bool) error {
	var missing []string
	for _, s := range c.settings() {
		switch s.name {
		case "store", "project", "env", "jwks", "api-keys", "token-key":
			if *s.str == "" {
				if lambda {
					missing = append(missing, EnvName(s.name))
				} else {
					missing = append(missing, "--"+s.name)
				}
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required settings: %s", strings.Join(missing, ", "))
	}
	if c.RefreshInterval < time.Second {
		return errors.New("refresh-interval must be at least 1s")
	}
	if c.RefreshTimeout <= 0 || c.RefreshTimeout > c.RefreshInterval*10 {
		return errors.New("refresh-timeout must be positive and at most 10 refresh intervals")
	}
	if c.EventsMaxAge < 100*time.Millisecond || c.EventsMaxAge > time.Hour {
		return errors.New("events-max-age must be between 100ms and 1h")
	}
	if c.ExposureWindow < time.Second {
		return errors.New("exposure-window must be at least 1s")
	}
	if !lambda {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("addr %q: %w", c.Addr, err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// Origins splits CORSOrigins.
func (c *Config) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
