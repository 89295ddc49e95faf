// Package ofprovider is an in-process OpenFeature provider
// (github.com/open-feature/go-sdk) over the offline client
// (edgefn/client): flags are evaluated locally by the engine, from the last
// verified bundle, with no call per evaluation.
//
//	c, err := client.New(cfg)
//	…
//	err = openfeature.SetProviderAndWait(ofprovider.New(c))
//	flags := openfeature.NewDefaultClient()
//	on, _ := flags.BooleanValue(ctx, "new-checkout", false, openfeature.NewEvaluationContext("user-123", attrs))
//
// Results carry the engine's reason (STATIC, DEFAULT, TARGETING_MATCH,
// SPLIT, DISABLED, ERROR), variant and error code, and flag metadata with
// the flag's own metadata, "ruleId", "version" and "serving" — the same
// answers as edgefn's OFREP endpoints give the OFREP provider, so moving
// between remote and in-process evaluation changes no result. Provider
// events: PROVIDER_CONFIGURATION_CHANGED when a new bundle version is
// served, PROVIDER_STALE when refreshes fail and the last-known-good
// bundle is served, PROVIDER_READY when they succeed again, PROVIDER_ERROR
// when no usable bundle is left (evaluations then answer the caller's
// defaults with PROVIDER_NOT_READY).
package ofprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/edgefn/client"
)

// Name is the provider's name in OpenFeature metadata.
const Name = "edgeflag-offline"

// Provider is the OpenFeature provider. It owns the client it was given:
// Init starts its background refresh and Shutdown closes it.
type Provider struct {
	c      *client.Client
	events chan of.Event

	mu      sync.Mutex
	stop    chan struct{} // ends the watcher; nil when none runs
	stopped chan struct{}
}

// New returns a provider over c.
func New(c *client.Client) *Provider {
	return &Provider{c: c, events: make(chan of.Event, 8)}
}

var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
)

// Metadata implements of.FeatureProvider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: Name} }

// Hooks implements of.FeatureProvider: none.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel implements of.EventHandler.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init implements of.StateHandler (InitWithContext without a deadline of
// its own; the client's Timeout bounds the refresh).
func (p *Provider) Init(ec of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), ec)
}

// InitWithContext implements of.ContextAwareStateHandler: without a usable
// cached bundle it refreshes once; then it starts the background refresh.
// It fails (the provider is in the ERROR state, evaluations answer
// defaults) only when no usable bundle is served; a later bundle makes it
// READY.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	if p.c.Status().Serving == client.ServingDefaults {
		_ = p.c.Refresh(ctx) // recorded in the status
	}
	st := p.c.Status()
	p.c.Start()
	p.watch(st)
	if st.Serving == client.ServingDefaults {
		return &of.ProviderInitError{ErrorCode: of.ProviderNotReadyCode, Message: noBundle(st)}
	}
	return nil
}

// Shutdown implements of.StateHandler.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext implements of.ContextAwareStateHandler: it stops the
// event watcher and closes the client.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.mu.Lock()
	stop, stopped := p.stop, p.stopped
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		select {
		case <-stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.c.Close()
}

func noBundle(st client.Status) string {
	msg := "no verified bundle: serving the caller's defaults"
	switch {
	case st.LastFailure != "":
		msg += " (last refresh: " + st.LastFailure + ")"
	case st.CacheRejected != "":
		msg += " (cached bundle: " + st.CacheRejected + ")"
	}
	return msg
}

// watch starts the goroutine that turns client changes into provider
// events, starting from what st says.
func (p *Provider) watch(st client.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	p.stop, p.stopped = stop, stopped
	go func() {
		defer close(stopped)
		prev := st
		for {
			select {
			case <-p.c.Changed():
			case <-stop:
				return
			}
			cur := p.c.Status()
			evs := eventsFor(prev, cur)
			prev = cur
			for _, ev := range evs {
				select {
				case p.events <- ev:
				case <-stop:
					return
				}
			}
		}
	}()
}

// eventsFor returns the provider events for a change from prev to cur:
// the state change (READY, STALE or ERROR; the SDK sets its status from
// these), then PROVIDER_CONFIGURATION_CHANGED for a new bundle version
// (which changes no status).
func eventsFor(prev, cur client.Status) []of.Event {
	ev := func(t of.EventType, msg string) of.Event {
		e := of.Event{ProviderName: Name, EventType: t, ProviderEventDetails: of.ProviderEventDetails{Message: msg,
			EventMetadata: map[string]any{"version": int64(cur.Version), "serving": cur.Serving}}}
		if t == of.ProviderError {
			e.ErrorCode = of.GeneralCode
		}
		return e
	}
	var out []of.Event
	if cur.Serving != prev.Serving {
		switch cur.Serving {
		case client.ServingDefaults:
			return []of.Event{ev(of.ProviderError, noBundle(cur))}
		case client.ServingFresh:
			out = append(out, ev(of.ProviderReady, "serving a verified bundle, refreshes succeed"))
		case client.ServingLastKnownGood:
			out = append(out, ev(of.ProviderStale, "refreshes fail ("+cur.LastFailure+"): serving the last-known-good bundle"))
		}
	}
	if cur.Serving != client.ServingDefaults && cur.Version != prev.Version {
		out = append(out, ev(of.ProviderConfigChange, fmt.Sprintf("serving bundle version %d", cur.Version)))
	}
	return out
}

// BooleanEvaluation implements of.FeatureProvider.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, flat of.FlattenedContext) of.BoolResolutionDetail {
	return evaluate(p, flag, ir.TypeBoolean, def, flat)
}

// StringEvaluation implements of.FeatureProvider.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, flat of.FlattenedContext) of.StringResolutionDetail {
	return evaluate(p, flag, ir.TypeString, def, flat)
}

// FloatEvaluation implements of.FeatureProvider.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, flat of.FlattenedContext) of.FloatResolutionDetail {
	return evaluate(p, flag, ir.TypeNumber, def, flat)
}

// ObjectEvaluation implements of.FeatureProvider (the value is a copy).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, flat of.FlattenedContext) of.InterfaceResolutionDetail {
	return evaluate(p, flag, ir.TypeObject, def, flat)
}

// evaluate resolves flag as typ: the engine's value, or def on errors and
// for a disabled flag.
func evaluate[T any](p *Provider, flag string, typ ir.FlagType, def T, flat of.FlattenedContext) of.GenericResolutionDetail[T] {
	r, d := p.resolve(flag, typ, flat)
	v, ok := r.Value.(T)
	if !ok || useDefault(r) {
		v = def
	}
	return of.GenericResolutionDetail[T]{Value: v, ProviderResolutionDetail: d}
}

// IntEvaluation implements of.FeatureProvider: a number flag whose value
// is not an integer is a TYPE_MISMATCH.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, flat of.FlattenedContext) of.IntResolutionDetail {
	r, d := p.resolve(flag, ir.TypeNumber, flat)
	v, ok := client.AsInt(r.Value)
	if r.Value != nil && !ok {
		d = errorDetail(of.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q has the non-integer value %v", flag, r.Value)))
	}
	if !ok || useDefault(r) {
		v = def
	}
	return of.IntResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// useDefault: a disabled flag answers the caller's default, as OpenFeature
// providers do (and the OFREP provider does with edgefn's answers).
func useDefault(r client.Result) bool { return r.Reason == string(eval.ReasonDisabled) }

// resolve evaluates flag as type typ and maps the result.
func (p *Provider) resolve(flag string, typ ir.FlagType, flat of.FlattenedContext) (client.Result, of.ProviderResolutionDetail) {
	ctx, err := engineContext(flat)
	if err != nil {
		return client.Result{}, errorDetail(of.NewInvalidContextResolutionError(err.Error()))
	}
	r := p.c.EvaluateType(flag, typ, ctx)
	if r.ErrorCode == client.CodeProviderNotReady {
		return r, errorDetail(of.NewProviderNotReadyResolutionError(noBundle(p.c.Status())))
	}
	if r.Reason == string(eval.ReasonError) {
		return r, errorDetail(resolutionError(r))
	}
	md := of.FlagMetadata{"version": int64(r.Version), "serving": r.Serving}
	for _, m := range r.Metadata {
		switch m.Value.Kind {
		case ir.ConstBool:
			md[m.Key] = m.Value.Bool
		case ir.ConstNum:
			md[m.Key] = m.Value.Num
		case ir.ConstString:
			md[m.Key] = m.Value.Str
		}
	}
	if r.RuleID != "" {
		md["ruleId"] = r.RuleID
	}
	if r.ErrorCode != "" { // TARGETING_KEY_MISSING: a split served its default variant
		md["errorCode"] = r.ErrorCode
	}
	return r, of.ProviderResolutionDetail{Reason: of.Reason(r.Reason), Variant: r.Variant, FlagMetadata: md}
}

func errorDetail(e of.ResolutionError) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{ResolutionError: e, Reason: of.ErrorReason}
}

// resolutionError maps an engine error result to OpenFeature's error.
func resolutionError(r client.Result) of.ResolutionError {
	msg := fmt.Sprintf("flag %q: %s", r.Key, r.ErrorCode)
	switch eval.ErrorCode(r.ErrorCode) {
	case eval.CodeFlagNotFound:
		return of.NewFlagNotFoundResolutionError(msg)
	case eval.CodeTypeMismatch:
		return of.NewTypeMismatchResolutionError(msg)
	case eval.CodeTargetingKeyMissing:
		return of.NewTargetingKeyMissingResolutionError(msg)
	case eval.CodeInvalidContext:
		return of.NewInvalidContextResolutionError(msg)
	case eval.CodeParseError:
		return of.NewParseErrorResolutionError(msg)
	}
	return of.NewGeneralResolutionError(msg)
}

// engineContext turns OpenFeature's flattened context into the engine's:
// targetingKey must be a string; times become RFC 3339 strings; slices and
// maps of any element type, and structs, become JSON values. The flattened
// context is used as is when nothing needs converting.
func engineContext(flat of.FlattenedContext) (map[string]any, error) {
	if tk, ok := flat[of.TargetingKey]; ok {
		if _, isString := tk.(string); !isString {
			return nil, fmt.Errorf("targetingKey must be a string, not %T", tk)
		}
	}
	convert := false
	for _, v := range flat {
		if !engineValue(v) {
			convert = true
			break
		}
	}
	if !convert {
		return flat, nil
	}
	out := make(map[string]any, len(flat))
	for k, v := range flat {
		c, err := toEngine(v)
		if err != nil {
			return nil, fmt.Errorf("context attribute %q: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

// engineValue reports whether v is a value the engine reads as it is.
func engineValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	case map[string]any:
		for _, e := range x {
			if !engineValue(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !engineValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

func toEngine(v any) (any, error) {
	if engineValue(v) {
		return v, nil
	}
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := toEngine(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := toEngine(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	// Anything else ([]string, map[string]string, a struct): its JSON form.
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a %T has no JSON form: %w", v, err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}
