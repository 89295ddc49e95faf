// Package cli implements the edgeflag command-line tool (docs/cli.md): keygen,
// validate, eval, build, publish, diff, rollback, inspect, audit, apikey,
// results and analytics.
// All command logic lives here so it can be tested in-process; the binary in
// publisher/cmd/edgeflag only wires os.Args and the standard streams to Main.
//
// Exit codes: 0 success, 1 validation or usage error, 2 any other failure.
// Errors are written to stderr as "edgeflag: <cmd>: <message>"; config
// diagnostics as "file:line:col: field: message". See docs/cli.md.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publisher/names"
	"github.com/edgeflag/edgeflag/publisher/store"
)

// Exit codes.
const (
	ExitOK      = 0 // success
	ExitInvalid = 1 // validation or usage error
	ExitFailure = 2 // any other failure
)

// Env is what a command run sees of the outside world. Tests fill it with
// buffers, a fixed clock and fakes; Main fills it from the process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable ("" when unset).
	Getenv func(string) string
	// Now is the clock, read only by the CLI (never by the engine); nil
	// means time.Now.
	Now func() time.Time
	// HTTPClient delivers webhooks; nil means the webhook package default.
	HTTPClient *http.Client
	// WebhookSleep replaces the webhook retry backoff sleep (tests); nil
	// means a real sleep.
	WebhookSleep func(ctx context.Context, d time.Duration) error

	// afterHead, when set (tests), runs in publish between reading the
	// store head and publishing, to force concurrent publishers to race.
	afterHead func()
}

// Main runs the edgeflag command line args (without the program name) and
// returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
	return e.Run(ctx, args)
}

// exitError carries an exit code with an error. Errors without one exit
// with ExitFailure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// invalid marks err as a validation or usage error (exit 1).
func invalid(err error) error { return &exitError{code: ExitInvalid, err: err} }

// invalidf formats a validation or usage error (exit 1).
func invalidf(format string, args ...any) error {
	return invalid(fmt.Errorf(format, args...))
}

// errReported is returned when the command already printed what went wrong
// (diagnostics); Run then prints nothing more.
var errReported = errors.New("reported")

type command struct {
	name     string
	synopsis string
	usage    string // usage line(s) after "edgeflag "
	run      func(e *Env, ctx context.Context, name string, args []string) error
}

var commands []*command

func init() {
	commands = []*command{
		{"keygen", "generate an Ed25519 signing key and its JWKS", "keygen --out KEY [--force]", (*Env).keygen},
		{"validate", "load and lint a flags directory", "validate DIR [--strict] [--now RFC3339] [--store URL]", (*Env).validate},
		{"eval", "evaluate flags from a directory or a signed bundle", "eval DIR --env ENV [--audience server|client] (--flag KEY | --all) (--context JSON | --contexts FILE) [--now RFC3339]\n  edgeflag eval BUNDLE --jwks FILE (--flag KEY | --all) (--context JSON | --contexts FILE) [--now RFC3339]", (*Env).eval},
		{"build", "compile and sign an environment's server and client bundles", "build DIR --env ENV (--key KEY | --kms-key ARN) --out OUTDIR [--version N] [--ttl DUR] [--now RFC3339]", (*Env).build},
		{"publish", "build, sign and publish an environment to a store", "publish DIR --env ENV (--key KEY | --kms-key ARN) --store URL [--reason TEXT] [--actor NAME]", (*Env).publish},
		{"diff", "flag-level diff: config vs published, or two published versions", "diff DIR --env ENV --store URL [--jwks FILE]\n  edgeflag diff --store URL --project P --env ENV --from V1 --to V2 [--jwks FILE]", (*Env).diff},
		{"rollback", "re-publish an earlier version's flags as a new version", "rollback --store URL --project P --env ENV --to VERSION (--key KEY | --kms-key ARN) [--reason TEXT] [--actor NAME] [--jwks FILE] [--ttl DUR]", (*Env).rollback},
		{"inspect", "verify a bundle and show its claims and flags", "inspect BUNDLE --jwks FILE [--json] [--now RFC3339]", (*Env).inspect},
		{"audit", "show an environment's publish history and webhook state", "audit --store URL --project P --env ENV [--json] [--config DIR]", (*Env).audit},
		{"apikey", "create an API key for edgefn", "apikey --name NAME --scopes SCOPE,... [--projects P,...]", (*Env).apikey},
		{"results", "an experiment's results from the stored events", "results EXPERIMENT --store URL --project P --env ENV [--json] [--html OUT] [--jwks FILE] [--now RFC3339]", (*Env).results},
		{"analytics", "hourly evaluation counts per flag, variant and reason", "analytics --store URL --project P --env ENV [--flag KEY] [--since T] [--json] [--now RFC3339]", (*Env).analytics},
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Run runs one command line and returns its exit code.
func (e *Env) Run(ctx context.Context, args []string) int {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Stdin == nil {
		e.Stdin = strings.NewReader("")
	}
	if len(args) == 0 {
		e.usage(e.Stderr)
		return ExitInvalid
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(e.Stderr, "edgeflag: help: unknown command %q\n", args[1])
				e.usage(e.Stderr)
				return ExitInvalid
			}
			return e.Run(ctx, []string{c.name, "-h"})
		}
		e.usage(e.Stdout)
		return ExitOK
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.Stderr, "edgeflag: unknown command %q\n", name)
		e.usage(e.Stderr)
		return ExitInvalid
	}
	err := c.run(e, ctx, c.name, args[1:])
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintf(e.Stderr, "edgeflag: %s: %v\n", c.name, err)
	}
	return code
}

func (e *Env) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: edgeflag <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintln(w, "  help      show help for a command (edgeflag help CMD, or CMD -h)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit codes: 0 ok, 1 validation or usage error, 2 other failure (docs/cli.md)")
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// newFlags returns the flag set of a command; its usage goes to stderr on
// errors and to stdout for -h.
func (e *Env) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses flags that may be interleaved with positional arguments
// ("validate DIR --strict" and "validate --strict DIR" both work; "--" ends
// the flags). It returns the positional arguments.
func (e *Env) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				e.commandUsage(e.Stdout, fs)
				return nil, flag.ErrHelp
			}
			e.commandUsage(e.Stderr, fs)
			return nil, invalid(err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (e *Env) commandUsage(w io.Writer, fs *flag.FlagSet) {
	c := lookup(fs.Name())
	if c == nil {
		return
	}
	fmt.Fprintf(w, "usage: edgeflag %s\n\n%s\n\nflags:\n", c.usage, c.synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// usageErr reports a usage mistake with the command's usage line.
func (e *Env) usageErr(fs *flag.FlagSet, format string, args ...any) error {
	e.commandUsage(e.Stderr, fs)
	return invalidf(format, args...)
}

// parseNow parses a --now value; "" means the clock.
func (e *Env) parseNow(s string) (time.Time, error) {
	if s == "" {
		return e.now(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalidf("parse --now: %q is not an RFC 3339 time (e.g. 2026-05-01T12:00:00Z)", s)
	}
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, invalidf("parse --now: %s is before 1970 (bundles carry issue times as Unix seconds)", s)
	}
	return t, nil
}

// actor is who publishes: --actor, else $EDGEFLAG_ACTOR, else $USER, else
// "unknown".
func (e *Env) actor(flagValue string) string {
	for _, v := range []string{flagValue, e.Getenv("EDGEFLAG_ACTOR"), e.Getenv("USER")} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return "unknown"
}

// openStore opens --store; a URL that cannot be used as written is a usage
// error (exit 1).
func openStore(ctx context.Context, rawURL string) (store.Blob, error) {
	b, err := store.Open(ctx, rawURL)
	if errors.Is(err, store.ErrBadURL) {
		return nil, invalid(err)
	}
	return b, err
}

// checkNames refuses --project/--env values that break the naming rule
// (package names) as usage errors, before they reach a store. Empty values
// are left to the caller's "required" check.
func checkNames(flags ...string) error {
	for i := 0; i+1 < len(flags); i += 2 {
		if v := flags[i+1]; v != "" {
			if err := names.Check(v); err != nil {
				return invalidf("%s %q %v", flags[i], v, err)
			}
		}
	}
	return nil
}

// requireTarget checks the --store, --project and --env of a command that
// reads one environment of a store (audit, analytics, results): all three
// given, and the names by the naming rule.
func (e *Env) requireTarget(fs *flag.FlagSet, storeURL, project, env string) error {
	if storeURL == "" || project == "" || env == "" {
		return e.usageErr(fs, "--store, --project and --env are required")
	}
	return checkNames("--project", project, "--env", env)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func splitPath(p string) (dir, base string) {
	return filepath.Dir(p), filepath.Base(p)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
