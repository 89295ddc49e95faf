// Package mobile is the offline client (edgefn/client) for iOS and
// Android apps through gomobile:
//
//	gomobile bind -target=android -javapkg=com.example.flags github.com/edgeflag/edgeflag/edgefn/client/mobile
//	gomobile bind -target=ios -prefix=EF github.com/edgeflag/edgeflag/edgefn/client/mobile
//
// Every exported name uses only what gomobile bind supports (strings,
// signed integers, floats, bools, []byte, error, and pointers to this
// package's structs and interfaces; no maps, slices, channels, unsigned
// integers or generics): TestGomobileTypes checks it with go/types.
// Evaluation contexts are built with Context (or parsed from JSON), object
// values travel as JSON text, times as Unix seconds.
package mobile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
)

// Config configures a Client; see edgefn/client.Config for the meaning of
// each field. Zero numbers mean the defaults.
type Config struct {
	// URL: https://…/v1/bootstrap (with Tokens), https://…/v1/flags (with
	// APIKey, for trusted devices only), any HTTPS URL of a bundle, or
	// s3://bucket/prefix (public objects).
	URL string
	// Audience is "client" or "server"; implied by edgefn URLs.
	Audience string
	// APIKey is an edgefn API key (flags:read).
	APIKey string
	// Tokens supplies client tokens (scope bootstrap), asked before every
	// request.
	Tokens TokenSource
	// JWKS is the trusted bundle-signing key set (JSON text).
	JWKS string
	// Project and Environment are what the bundles must be for.
	Project, Environment string
	// CacheDir is a directory private to the app (Android:
	// context.getNoBackupFilesDir(); iOS: Application Support).
	CacheDir string
	// GraceSeconds: how long an expired bundle is still served.
	GraceSeconds int64
	// RefreshSeconds: mean time between background refreshes.
	RefreshSeconds int64
	// TimeoutSeconds bounds one refresh.
	TimeoutSeconds int64
	// MaxSkewSeconds: how far in the future a bundle's issue time may be.
	MaxSkewSeconds int64
	// AllowHTTP permits plain http:// to other hosts than loopback.
	AllowHTTP bool
}

// TokenSource returns a client token (implemented by the app: typically a
// call to its own backend, which mints one with POST /v1/tokens).
type TokenSource interface {
	Token() (string, error)
}

// Listener is told when what the client serves changes (a new bundle
// version, or another Serving value). Called on a goroutine of the
// client's: do not block it, and do not call SetListener or Close from it.
type Listener interface {
	OnChange(s *Status)
}

// Status is client.Status with times as Unix seconds (0: none).
type Status struct {
	// Serving is "fresh", "last-known-good" or "defaults".
	Serving                string
	Version                int64
	KeyID                  string
	IssuedAt, ExpiresAt    int64
	Origin                 string
	Expired                bool
	Floor                  int64
	Breaker                string
	NextAttempt            int64
	ConsecutiveFailures    int64
	LastAttempt            int64
	LastSuccess            int64
	LastFailure, LastError string
	CacheRejected          string
	CacheError             string
	PersistError           string
}

// Result is one evaluation: client.Result with the value as JSON text.
type Result struct {
	Key string
	// ValueJSON is the value as JSON ("true", "\"blue\"", "2.5",
	// "{…}"); "" on errors.
	ValueJSON string
	Variant   string
	Reason    string
	ErrorCode string
	RuleID    string
	Version   int64
	Serving   string
}

// Context is an evaluation context under construction. Not safe for
// concurrent changes; an evaluation reads it without changing it.
type Context struct {
	attrs map[string]any
}

// NewContext returns a context with the targeting key ("" for none).
func NewContext(targetingKey string) *Context {
	c := &Context{attrs: map[string]any{}}
	if targetingKey != "" {
		c.attrs["targetingKey"] = targetingKey
	}
	return c
}

// ParseContext reads a context from a JSON object.
func ParseContext(jsonText string) (*Context, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(jsonText), &m); err != nil || m == nil {
		return nil, fmt.Errorf("parse context: not a JSON object: %v", err)
	}
	if tk, ok := m["targetingKey"]; ok {
		if _, isString := tk.(string); !isString {
			return nil, errors.New("parse context: targetingKey must be a string")
		}
	}
	return &Context{attrs: m}, nil
}

// SetString sets attribute key to a string.
func (c *Context) SetString(key, value string) { c.attrs[key] = value }

// SetNumber sets attribute key to a number.
func (c *Context) SetNumber(key string, value float64) { c.attrs[key] = value }

// SetBool sets attribute key to a boolean.
func (c *Context) SetBool(key string, value bool) { c.attrs[key] = value }

// SetJSON sets attribute key to a JSON value (an object or list, say).
func (c *Context) SetJSON(key, jsonText string) error {
	var v any
	if err := json.Unmarshal([]byte(jsonText), &v); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	c.attrs[key] = v
	return nil
}

// attributes returns the map to evaluate with (nil for a nil context).
func (c *Context) attributes() map[string]any {
	if c == nil {
		return nil
	}
	return c.attrs
}

// Client is the offline client. Safe for concurrent use.
type Client struct {
	c        *client.Client
	mu       sync.Mutex
	stopList chan struct{} // closes the listener goroutine
	wg       sync.WaitGroup
}

// NewClient checks cfg and loads the cached bundle (verified again); it
// does no network IO (call Start or Refresh).
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("new offline client: no configuration")
	}
	sec := func(n int64) time.Duration { return time.Duration(n) * time.Second }
	cc := client.Config{
		URL: cfg.URL, Audience: cfg.Audience, APIKey: cfg.APIKey, JWKS: []byte(cfg.JWKS),
		Project: cfg.Project, Environment: cfg.Environment, CacheDir: cfg.CacheDir,
		Grace: sec(cfg.GraceSeconds), RefreshInterval: sec(cfg.RefreshSeconds), Timeout: sec(cfg.TimeoutSeconds),
		MaxSkew: sec(cfg.MaxSkewSeconds), AllowHTTP: cfg.AllowHTTP,
	}
	if ts := cfg.Tokens; ts != nil {
		cc.Token = func(context.Context) (string, error) { return ts.Token() }
	}
	c, err := client.New(cc)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Start refreshes in the background (at once, then periodically with
// jitter) until Close.
func (m *Client) Start() { m.c.Start() }

// Refresh fetches the bundle now (pull to refresh) and waits for the
// outcome, bounded by the configured timeout.
func (m *Client) Refresh() error { return m.c.Refresh(context.Background()) }

// Close stops the background refresh and the listener.
func (m *Client) Close() error {
	m.SetListener(nil)
	return m.c.Close()
}

// Status returns what the client serves and how its refreshes go.
func (m *Client) Status() *Status { return status(m.c.Status()) }

// SetListener replaces the change listener (nil: none).
func (m *Client) SetListener(l Listener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopList != nil {
		close(m.stopList)
		m.wg.Wait()
		m.stopList = nil
	}
	if l == nil {
		return
	}
	stop := make(chan struct{})
	m.stopList = stop
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case <-m.c.Changed():
				l.OnChange(m.Status())
			case <-stop:
				return
			}
		}
	}()
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func status(s client.Status) *Status {
	return &Status{Serving: s.Serving, Version: int64(s.Version), KeyID: s.KeyID, IssuedAt: unix(s.IssuedAt),
		ExpiresAt: unix(s.ExpiresAt), Origin: s.Origin, Expired: s.Expired, Floor: int64(s.Floor), Breaker: s.Breaker,
		NextAttempt: unix(s.NextAttempt), ConsecutiveFailures: int64(s.ConsecutiveFailures),
		LastAttempt: unix(s.LastAttempt), LastSuccess: unix(s.LastSuccess), LastFailure: s.LastFailure,
		LastError: s.LastError, CacheRejected: s.CacheRejected, CacheError: s.CacheError, PersistError: s.PersistError}
}

// Evaluate evaluates flag key for ctx (nil: an empty context).
func (m *Client) Evaluate(key string, ctx *Context) *Result {
	r := m.c.Evaluate(key, ctx.attributes())
	out := &Result{Key: r.Key, Variant: r.Variant, Reason: r.Reason, ErrorCode: r.ErrorCode, RuleID: r.RuleID,
		Version: int64(r.Version), Serving: r.Serving}
	if r.Value != nil {
		if data, err := json.Marshal(r.Value); err == nil {
			out.ValueJSON = string(data)
		}
	}
	return out
}

// BoolValue returns boolean flag key for ctx, or def (no bundle, missing
// flag, another type).
func (m *Client) BoolValue(key string, def bool, ctx *Context) bool {
	return m.c.BoolValue(key, def, ctx.attributes())
}

// StringValue is BoolValue for a string flag.
func (m *Client) StringValue(key, def string, ctx *Context) string {
	return m.c.StringValue(key, def, ctx.attributes())
}

// NumberValue is BoolValue for a number flag.
func (m *Client) NumberValue(key string, def float64, ctx *Context) float64 {
	return m.c.NumberValue(key, def, ctx.attributes())
}

// IntValue is BoolValue for a number flag with an integer value.
func (m *Client) IntValue(key string, def int64, ctx *Context) int64 {
	return m.c.IntValue(key, def, ctx.attributes())
}

// ObjectJSON returns object flag key for ctx as JSON text, or defJSON.
func (m *Client) ObjectJSON(key, defJSON string, ctx *Context) string {
	r := m.c.EvaluateType(key, ir.TypeObject, ctx.attributes())
	if r.Value == nil {
		return defJSON
	}
	data, err := json.Marshal(r.Value)
	if err != nil {
		return defJSON
	}
	return string(data)
}
