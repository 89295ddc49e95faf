package ofprovider_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
	"github.com/edgeflag/edgeflag/edgefn/client/ofprovider"
	"github.com/edgeflag/edgeflag/edgefn/internal/testbundle"
)

const flags = `
project: shop
environments: [production]
flags:
  new-checkout:
    type: boolean
    description: Redesigned checkout
    owner: payments
    defaultVariant: off
    environments:
      production:
        enabled: true
        rules:
          - name: pro
            when: 'plan == "pro"'
            serve: on
          - name: ios
            when: 'device.os == "ios"'
            serve: on
          - name: early
            when: 'timestamp(signupAt) < timestamp("2026-01-01T00:00:00Z")'
            serve: on
  button-color:
    type: string
    variants: {blue: "#1a73e8", green: "#188038"}
    defaultVariant: blue
    environments:
      production: {enabled: true, default: {split: {blue: 50, green: 50}}}
  retry-limit:
    type: number
    variants: {none: 0, some: 2, half: 2.5}
    defaultVariant: some
    environments:
      production:
        enabled: true
        rules:
          - {name: young, when: 'age < 21', serve: none}
          - {name: fraction, when: 'plan == "fraction"', serve: half}
  banner:
    type: object
    variants:
      none: {show: false}
      spring: {show: true, title: Spring sale}
    defaultVariant: none
    environments:
      production: {enabled: true, rules: [{name: us, when: 'country == "US"', serve: spring}]}
  express-shipping:
    type: boolean
    defaultVariant: off
    environments:
      production: {enabled: false}
`

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const ttl = 30 * 24 * time.Hour

type fixture struct {
	t      *testing.T
	key    testbundle.Key
	server *ir.Bundle
	srv    *clienttest.Server
	now    atomic.Pointer[time.Time]
	c      *client.Client
	domain string
}

// newFixture builds a client of a test server (nothing served yet) and a
// unique OpenFeature domain for it.
func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, key: testbundle.NewKey(t), srv: clienttest.New(t, "efk_of"), domain: t.Name()}
	f.server, _ = testbundle.Compile(t, flags, "production")
	f.setNow(t0)
	c, err := client.New(client.Config{URL: f.srv.URL + "/v1/flags", APIKey: "efk_of", JWKS: f.key.JWKS,
		Project: "shop", Environment: "production", CacheDir: t.TempDir(), Grace: time.Hour, FailureThreshold: 100,
		Now: func() time.Time { return *f.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	t.Cleanup(func() { c.Close() })
	t.Cleanup(of.Shutdown)
	return f
}

func (f *fixture) setNow(t time.Time) { f.now.Store(&t) }

func (f *fixture) serve(v uint64) {
	f.srv.Set(testbundle.Seal(f.t, f.server, f.key, v, t0.Add(-time.Hour), t0.Add(-time.Hour+ttl)), 0, false)
}

func ec(key string, attrs map[string]any) of.EvaluationContext {
	return of.NewEvaluationContext(key, attrs)
}

// TestProviderEvaluates: every flag type through the official Go SDK
// (openfeature.NewClient), with reasons, variants, metadata and error codes
// mapped from the engine's results, and the evaluation context (targeting
// key, nested values, structs, times) handed to the engine.
func TestProviderEvaluates(t *testing.T) {
	f := newFixture(t)
	f.serve(1)
	if err := of.SetNamedProviderAndWait(f.domain, ofprovider.New(f.c)); err != nil {
		t.Fatal(err)
	}
	cl := of.NewClient(f.domain)
	if cl.State() != of.ReadyState {
		t.Fatalf("state %s", cl.State())
	}
	ctx := context.Background()

	b, err := cl.BooleanValueDetails(ctx, "new-checkout", false, ec("user-1", map[string]any{"plan": "pro"}))
	md := b.FlagMetadata
	if err != nil || !b.Value || b.Variant != "on" || b.Reason != of.TargetingMatchReason || md["ruleId"] != "pro" ||
		md["version"] != int64(1) || md["description"] != "Redesigned checkout" || md["owner"] != "payments" || md["serving"] != client.ServingFresh {
		t.Errorf("boolean: %+v %v", b, err)
	}
	type device struct {
		OS string `json:"os"`
	}
	if v, err := cl.BooleanValue(ctx, "new-checkout", false, ec("user-1", map[string]any{"device": device{OS: "ios"}})); err != nil || !v {
		t.Errorf("struct attribute: %v %v", v, err)
	}
	if v, err := cl.BooleanValue(ctx, "new-checkout", false, ec("user-1", map[string]any{"signupAt": time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})); err != nil || !v {
		t.Errorf("time attribute: %v %v", v, err)
	}
	if v, _ := cl.BooleanValue(ctx, "new-checkout", true, ec("user-1", map[string]any{"plan": "free"})); v {
		t.Error("boolean off: got true")
	}

	// The targeting key reaches the engine: the split agrees with the
	// client's own evaluation for the same key, for several keys.
	for _, key := range []string{"user-1", "user-2", "user-3", "user-4", "user-5", "user-6"} {
		s, err := cl.StringValueDetails(ctx, "button-color", "", ec(key, nil))
		want := f.c.Evaluate("button-color", map[string]any{"targetingKey": key})
		if err != nil || s.Reason != of.SplitReason || s.Value != want.Value || s.Variant != want.Variant {
			t.Errorf("split for %s: %+v, client says %v", key, s, want.Value)
		}
	}
	noKey, err := cl.StringValueDetails(ctx, "button-color", "x", ec("", nil))
	if err != nil || noKey.Value != "#1a73e8" || noKey.FlagMetadata["errorCode"] != "TARGETING_KEY_MISSING" {
		t.Errorf("split without a targeting key: %+v %v", noKey, err)
	}

	if fl, err := cl.FloatValueDetails(ctx, "retry-limit", -1, ec("u", map[string]any{"age": 18})); err != nil || fl.Value != 0 || fl.Variant != "none" {
		t.Errorf("float: %+v %v", fl, err)
	}
	if fl, err := cl.FloatValue(ctx, "retry-limit", -1, ec("u", map[string]any{"plan": "fraction"})); err != nil || fl != 2.5 {
		t.Errorf("fractional float: %v %v", fl, err)
	}
	if i, err := cl.IntValueDetails(ctx, "retry-limit", -1, ec("u", nil)); err != nil || i.Value != 2 || i.Reason != of.DefaultReason {
		t.Errorf("int: %+v %v", i, err)
	}
	if i, err := cl.IntValueDetails(ctx, "retry-limit", -1, ec("u", map[string]any{"plan": "fraction"})); err == nil || i.Value != -1 || i.ErrorCode != of.TypeMismatchCode {
		t.Errorf("a fractional value as int: %+v %v", i, err)
	}
	o, err := cl.ObjectValueDetails(ctx, "banner", map[string]any{}, ec("u", map[string]any{"country": "US"}))
	if err != nil || !reflect.DeepEqual(o.Value, map[string]any{"show": true, "title": "Spring sale"}) || o.Variant != "spring" {
		t.Errorf("object: %+v %v", o, err)
	}

	// A disabled flag answers the code default, with reason DISABLED (as
	// the OFREP provider does with edgefn's answers).
	if d, err := cl.BooleanValueDetails(ctx, "express-shipping", true, ec("u", nil)); err != nil || !d.Value || d.Reason != of.DisabledReason || d.Variant != "off" {
		t.Errorf("disabled: %+v %v", d, err)
	}
	for name, tc := range map[string]struct {
		flag string
		ctx  of.EvaluationContext
		code of.ErrorCode
	}{
		"missing flag":    {"no-such-flag", ec("u", nil), of.FlagNotFoundCode},
		"type mismatch":   {"button-color", ec("u", nil), of.TypeMismatchCode},
		"invalid context": {"new-checkout", ec("", map[string]any{"targetingKey": 7}), of.InvalidContextCode},
	} {
		d, err := cl.BooleanValueDetails(ctx, tc.flag, true, tc.ctx)
		if err == nil || !d.Value || d.ErrorCode != tc.code || d.Reason != of.ErrorReason {
			t.Errorf("%s: %+v %v", name, d, err)
		}
	}
}

// events collects provider events of the given types from an SDK client.
func events(cl *of.Client, types ...of.EventType) chan of.EventDetails {
	ch := make(chan of.EventDetails, 16)
	cb := func(d of.EventDetails) { ch <- d }
	for _, typ := range types {
		cl.AddHandler(typ, &cb)
	}
	return ch
}

func waitEvent(t *testing.T, ch chan of.EventDetails, cl *of.Client, state of.State) of.EventDetails {
	t.Helper()
	select {
	case d := <-ch:
		deadline := time.Now().Add(5 * time.Second)
		for cl.State() != state && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if cl.State() != state {
			t.Fatalf("state %s after the event %+v, want %s", cl.State(), d, state)
		}
		return d
	case <-time.After(10 * time.Second):
		t.Fatalf("no event (state %s)", cl.State())
	}
	return of.EventDetails{}
}

// TestProviderEvents: a new bundle is PROVIDER_CONFIGURATION_CHANGED,
// failing refreshes make it STALE (last-known-good served), recovery
// READY, and a bundle expiring beyond its grace ERROR (defaults).
func TestProviderEvents(t *testing.T) {
	f := newFixture(t)
	f.serve(1)
	if err := of.SetNamedProviderAndWait(f.domain, ofprovider.New(f.c)); err != nil {
		t.Fatal(err)
	}
	cl := of.NewClient(f.domain)
	changed := events(cl, of.ProviderConfigChange)
	stale := events(cl, of.ProviderStale)
	ready := events(cl, of.ProviderReady)
	failed := events(cl, of.ProviderError)
	ctx := context.Background()
	pro := ec("user-1", map[string]any{"plan": "pro"})

	f.serve(2)
	if err := f.c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	d := waitEvent(t, changed, cl, of.ReadyState)
	if d.EventMetadata["version"] != int64(2) || d.ProviderName != ofprovider.Name {
		t.Fatalf("configuration change: %+v", d)
	}

	f.srv.Set(nil, 0, true)
	if err := f.c.Refresh(ctx); err == nil {
		t.Fatal("refresh succeeded with the connection dropped")
	}
	waitEvent(t, stale, cl, of.StaleState)
	if v, err := cl.BooleanValueDetails(ctx, "new-checkout", false, pro); err != nil || !v.Value || v.FlagMetadata["serving"] != client.ServingLastKnownGood {
		t.Fatalf("evaluation while stale: %+v %v", v, err)
	}

	f.serve(2)
	if err := f.c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ready, cl, of.ReadyState)

	f.setNow(t0.Add(-time.Hour + ttl + time.Hour)) // past expiry + the one-hour grace
	f.c.Check()
	waitEvent(t, failed, cl, of.ErrorState)
	v, err := cl.BooleanValueDetails(ctx, "new-checkout", false, pro)
	if err == nil || v.Value || v.ErrorCode != of.ProviderNotReadyCode {
		t.Fatalf("evaluation without a usable bundle: %+v %v", v, err)
	}
}

// TestProviderInitWithoutBundle: no cache and no network: initialisation
// fails (ERROR), evaluations answer defaults with PROVIDER_NOT_READY, and
// the first verified bundle makes the provider usable.
func TestProviderInitWithoutBundle(t *testing.T) {
	f := newFixture(t)
	f.srv.Set(nil, 0, true)
	if err := of.SetNamedProviderAndWait(f.domain, ofprovider.New(f.c)); err == nil {
		t.Fatal("initialisation succeeded without a bundle")
	}
	cl := of.NewClient(f.domain)
	changed := events(cl, of.ProviderConfigChange)
	ctx := context.Background()
	pro := ec("user-1", map[string]any{"plan": "pro"})
	if v, err := cl.BooleanValueDetails(ctx, "new-checkout", false, pro); err == nil || v.Value || v.ErrorCode != of.ProviderNotReadyCode {
		t.Fatalf("evaluation before a bundle: %+v %v", v, err)
	}
	f.serve(1)
	if err := f.c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, changed, cl, of.ReadyState)
	if v, err := cl.BooleanValue(ctx, "new-checkout", false, pro); err != nil || !v {
		t.Fatalf("evaluation after the bundle came: %v %v", v, err)
	}
}

// TestProviderShutdown: the SDK's shutdown closes the client (no more
// refreshes) and ends the provider's goroutine.
func TestProviderShutdown(t *testing.T) {
	f := newFixture(t)
	f.serve(1)
	p := ofprovider.New(f.c)
	if err := of.SetNamedProviderAndWait(f.domain, p); err != nil {
		t.Fatal(err)
	}
	if err := of.ShutdownWithContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Refresh(context.Background()); err != client.ErrClosed {
		t.Fatalf("Refresh after shutdown: %v", err)
	}
	// A second shutdown (the SDK may call it again) is harmless.
	if err := p.ShutdownWithContext(context.Background()); err != nil {
		t.Fatal(err)
	}
}
