// Package webhook delivers signed publish and rollback notifications to the
// webhooks configured in the flags-as-code, with retries (exponential
// backoff, full jitter) and automatic disabling of a webhook after
// consecutive failed deliveries. Delivery state is kept in the store next to
// the bundles, so every publisher (laptop or CI) sees the same counters.
//
// See docs/publishing.md for the payload, the headers and how a receiver
// verifies X-Edgeflag-Signature.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/internal/safefile"
	"github.com/edgeflag/edgeflag/publisher/internal/redact"
)

// Event types.
const (
	EventPublish  = "publish"
	EventRollback = "rollback"
)

// Headers set on every delivery.
const (
	HeaderSignature = "X-Edgeflag-Signature"
	HeaderEvent     = "X-Edgeflag-Event"
	HeaderDelivery  = "X-Edgeflag-Delivery"
)

// Defaults of Dispatcher.
const (
	DefaultMaxRetries   = 5
	DefaultBaseDelay    = 500 * time.Millisecond
	DefaultMaxDelay     = 30 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultDisableAfter = 10
	// DefaultTolerance is the replay window Verify callers should use.
	DefaultTolerance = 5 * time.Minute
)

// Event is the JSON payload of a delivery.
type Event struct {
	Type        string            `json:"type"` // EventPublish or EventRollback
	Project     string            `json:"project"`
	Environment string            `json:"environment"`
	FromVersion uint64            `json:"fromVersion"`
	ToVersion   uint64            `json:"toVersion"`
	RollbackOf  uint64            `json:"rollbackOf,omitempty"`
	Digests     map[string]string `json:"digests"` // audience -> hex SHA-256 of the bundle object
	Actor       string            `json:"actor"`
	Reason      string            `json:"reason,omitempty"`
	At          time.Time         `json:"at"`
	Summary     []string          `json:"summary,omitempty"`
}

// Hook is one configured webhook (the `webhooks:` items of the config).
type Hook struct {
	Name string
	URL  string
	// Secret is a reference, "env:NAME" or "file:PATH", resolved at
	// delivery time; the secret itself never appears in config, logs or
	// errors.
	Secret string
	// Events the hook receives; empty means all.
	Events []string
	// Environments the hook is limited to; empty means all.
	Environments []string
}

// Wants reports whether the hook subscribes to ev.
func (h Hook) Wants(ev Event) bool {
	if len(h.Events) > 0 && !slices.Contains(h.Events, ev.Type) {
		return false
	}
	return len(h.Environments) == 0 || slices.Contains(h.Environments, ev.Environment)
}

// Fingerprint identifies the hook's configuration. A disabled hook is
// enabled again when its fingerprint changes (a fixed URL, secret reference,
// events or environments).
func (h Hook) Fingerprint() string {
	ev := slices.Clone(h.Events)
	slices.Sort(ev)
	envs := slices.Clone(h.Environments)
	slices.Sort(envs)
	sum := sha256.Sum256([]byte(strings.Join([]string{h.URL, h.Secret, strings.Join(ev, ","), strings.Join(envs, ",")}, "\n")))
	return hex.EncodeToString(sum[:8])
}

// MaxSecretFile bounds the size of a file:PATH secret.
const MaxSecretFile = 64 << 10

// ReadSecretFile reads a file:PATH secret: a regular file (a symbolic link
// is followed) of at most MaxSecretFile bytes. A named pipe or device is
// refused rather than read, so a delivery can never block on it.
func ReadSecretFile(path string) ([]byte, error) {
	return safefile.Read(path, MaxSecretFile)
}

// ResolveSecret reads the secret a reference names: "env:NAME" (the
// environment variable, which must be set and non-empty) or "file:PATH"
// (the file's content without trailing newlines, read by readFile, which
// should be ReadSecretFile or as careful).
func ResolveSecret(ref string, getenv func(string) (string, bool), readFile func(string) ([]byte, error)) ([]byte, error) {
	kind, name, ok := strings.Cut(ref, ":")
	if !ok || name == "" {
		return nil, fmt.Errorf("resolve secret: reference %q is not env:NAME or file:PATH", redactRef(ref))
	}
	var secret []byte
	switch kind {
	case "env":
		v, ok := getenv(name)
		if !ok || v == "" {
			return nil, fmt.Errorf("resolve secret: environment variable %s is not set", name)
		}
		secret = []byte(v)
	case "file":
		data, err := readFile(name)
		if err != nil {
			return nil, fmt.Errorf("resolve secret: %w", err)
		}
		secret = bytes.TrimRight(data, "\r\n")
		if len(secret) == 0 {
			return nil, fmt.Errorf("resolve secret: file %s is empty", name)
		}
	default:
		return nil, fmt.Errorf("resolve secret: reference kind %q, want env or file", kind)
	}
	return secret, nil
}

// redactRef keeps a malformed reference out of errors when it might be an
// inline secret pasted by mistake.
func redactRef(ref string) string {
	if strings.HasPrefix(ref, "env:") || strings.HasPrefix(ref, "file:") {
		return ref
	}
	return "<redacted>"
}

// Sign returns the X-Edgeflag-Signature value for body sent at unix time t:
// "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret []byte, t int64, body []byte) string {
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received X-Edgeflag-Signature header against the raw body:
// one of its v1 values must equal the HMAC (compared in constant time) and
// its timestamp must be within tolerance of now (rejecting replays).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var (
		t    int64
		tSet bool
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("verify signature: malformed element %q", part)
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || tSet {
				return fmt.Errorf("verify signature: bad or repeated timestamp %q", v)
			}
			t, tSet = n, true
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil || len(s) != sha256.Size {
				return fmt.Errorf("verify signature: v1 is not a hex SHA-256 HMAC")
			}
			sigs = append(sigs, s)
		}
	}
	if !tSet || len(sigs) == 0 {
		return errors.New("verify signature: header needs t= and v1=")
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("verify signature: timestamp %d is %s away from now, outside the %s tolerance", t, d.Round(time.Second), tolerance)
	}
	want := mac(secret, t, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("verify signature: no v1 signature matches")
}

// Result reports one hook's delivery of one event.
type Result struct {
	Hook       string
	DeliveryID string
	// Attempts is how many HTTP requests were made (0 when skipped or the
	// secret could not be resolved).
	Attempts int
	// Status is the last HTTP status (0 when no response).
	Status int
	// Err is nil when the receiver answered 2xx.
	Err error
	// Skipped is true when the hook was disabled and nothing was sent.
	Skipped bool
	// Local is true when the delivery failed on this machine before any
	// request (its secret could not be resolved here): it says nothing
	// about the receiver, so it does not count towards auto-disable.
	Local bool
	// Disabled is true when the hook is disabled after this delivery.
	Disabled bool
	// ConsecutiveFailures after this delivery.
	ConsecutiveFailures int
}

// Dispatcher delivers events. The zero value is usable (no persisted state,
// defaults everywhere); the function fields exist so tests can be fast and
// deterministic.
type Dispatcher struct {
	// Client sends the requests (default: a client with no redirects).
	Client *http.Client
	// State persists failure counters; nil keeps none (no auto-disable).
	State *State
	// MaxRetries is the number of retries after the first attempt
	// (default 5, so at most 6 requests per delivery).
	MaxRetries int
	// BaseDelay and MaxDelay bound the backoff before retry n (1-based):
	// a uniformly random duration in [0, min(MaxDelay, BaseDelay*2^(n-1))).
	BaseDelay, MaxDelay time.Duration
	// Timeout bounds each attempt (default 10s).
	Timeout time.Duration
	// DisableAfter consecutive failed deliveries disable a hook (default 10).
	DisableAfter int

	// Now, Sleep, Jitter and NewID replace the clock, the backoff sleep,
	// the jitter source and the delivery id generator (tests).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(n int64) int64 // uniform in [0, n)
	NewID  func() string
	// Getenv and ReadFile resolve secret references (default
	// os.LookupEnv and ReadSecretFile).
	Getenv   func(string) (string, bool)
	ReadFile func(string) ([]byte, error)
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Dispatcher) jitter(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if d.Jitter != nil {
		return d.Jitter(n)
	}
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return n / 2
	}
	return v.Int64()
}

func (d *Dispatcher) newID() string {
	if d.NewID != nil {
		return d.NewID()
	}
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Backoff returns the delay before retry n (n >= 1): full jitter over an
// exponentially growing, capped window.
func (d *Dispatcher) Backoff(n int) time.Duration {
	base, maxD := orDefault(d.BaseDelay, DefaultBaseDelay), orDefault(d.MaxDelay, DefaultMaxDelay)
	window := maxD
	if n-1 < 32 && base<<(n-1) > 0 && base<<(n-1) < maxD {
		window = base << (n - 1)
	}
	return time.Duration(d.jitter(int64(window)))
}

// Deliver sends one event to one hook, retrying transport errors, 408, 429
// and 5xx answers; other statuses end the delivery at once. It neither
// reads nor updates the persisted state (Fire does).
func (d *Dispatcher) Deliver(ctx context.Context, h Hook, ev Event) Result {
	res := Result{Hook: h.Name, DeliveryID: d.newID()}
	getenv := d.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	readFile := d.ReadFile
	if readFile == nil {
		readFile = ReadSecretFile
	}
	secret, err := ResolveSecret(h.Secret, getenv, readFile)
	if err != nil {
		res.Err, res.Local = fmt.Errorf("deliver to %s: %w", h.Name, err), true
		return res
	}
	body, err := json.Marshal(ev)
	if err != nil {
		res.Err, res.Local = fmt.Errorf("deliver to %s: encode event: %w", h.Name, err), true
		return res
	}
	client := d.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	retries := d.MaxRetries
	if retries == 0 {
		retries = DefaultMaxRetries
	} else if retries < 0 {
		retries = 0
	}
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			if err := d.sleep(ctx, d.Backoff(attempt)); err != nil {
				res.Err = fmt.Errorf("deliver to %s: %w", h.Name, err)
				return res
			}
		}
		res.Attempts++
		status, retry, err := d.attempt(ctx, client, h, ev.Type, res.DeliveryID, secret, body)
		res.Status, res.Err = status, err
		if err == nil || !retry {
			return res
		}
	}
	return res
}

// attempt makes one request; retry says whether a failure may be retried.
func (d *Dispatcher) attempt(ctx context.Context, client *http.Client, h Hook, typ, id string, secret, body []byte) (status int, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, orDefault(d.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		// The parse error would quote the URL, query string included.
		return 0, false, fmt.Errorf("deliver to %s: invalid URL %s", h.Name, redact.URL(h.URL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "edgeflag-webhook/1")
	req.Header.Set(HeaderEvent, typ)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderSignature, Sign(secret, d.now().Unix(), body))
	resp, err := client.Do(req)
	if err != nil {
		// The client's error names the URL; a token in its query string
		// must not reach the output or the shared state file.
		return 0, true, fmt.Errorf("deliver to %s: %w", h.Name, redact.Error(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	return resp.StatusCode, retry, fmt.Errorf("deliver to %s: receiver answered %s", h.Name, resp.Status)
}

// Fire delivers ev to every hook that wants it, concurrently, skipping
// disabled ones, and records each outcome in d.State, except Local
// failures (a secret missing on this machine is not the receiver's fault,
// and must not disable the hook for everyone sharing the store). The results are in
// hooks order; the error reports only a failure to persist state.
func (d *Dispatcher) Fire(ctx context.Context, hooks []Hook, ev Event) ([]Result, error) {
	var (
		results []Result
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
	)
	var st *stateDoc
	if d.State != nil {
		doc, _, err := d.State.load(ctx)
		if err != nil {
			return nil, fmt.Errorf("fire webhooks: %w", err)
		}
		st = doc
	}
	var wanted []Hook
	for _, h := range hooks {
		if h.Wants(ev) {
			wanted = append(wanted, h)
		}
	}
	// Allocated once: the goroutines below write into it by index.
	results = make([]Result, len(wanted))
	for i, h := range wanted {
		results[i].Hook = h.Name
		if st != nil {
			if hs, ok := st.Webhooks[h.Name]; ok && hs.Disabled && hs.Fingerprint == h.Fingerprint() {
				results[i].Skipped, results[i].Disabled, results[i].ConsecutiveFailures = true, true, hs.ConsecutiveFailures
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.Deliver(ctx, h, ev)
			if d.State != nil && r.Local {
				if hs, ok := st.Webhooks[h.Name]; ok && hs.Fingerprint == h.Fingerprint() {
					r.ConsecutiveFailures = hs.ConsecutiveFailures
				}
			} else if d.State != nil {
				hs, err := d.State.record(ctx, h, r.Err, d.now(), orDefault(d.DisableAfter, DefaultDisableAfter))
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				r.Disabled, r.ConsecutiveFailures = hs.Disabled, hs.ConsecutiveFailures
			}
			results[i] = r
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return results, fmt.Errorf("fire webhooks: %w", err)
	}
	return results, nil
}
