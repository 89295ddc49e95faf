package app_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/edgefn/internal/ofrepspec"
)

// TestGoOFREPProvider evaluates every flag type of examples/shop through a
// real `edgefn serve` with the official OpenFeature Go SDK and its OFREP
// provider, unmodified; every OFREP response it receives is validated
// against the OFREP spec on the way.
func TestGoOFREPProvider(t *testing.T) {
	dir, args := devSetup(t)
	r := serve(t, dir, args)
	spec := ofrepspec.Load(t)
	hc := &http.Client{Transport: spec.Transport(t, nil), Timeout: 5 * time.Second}
	provider := ofrep.NewProvider(r.url, ofrep.WithApiKeyAuth(apiKey), ofrep.WithClient(hc))
	if err := openfeature.SetNamedProviderAndWait("edgefn-test", provider); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(openfeature.Shutdown)
	c := openfeature.NewClient("edgefn-test")
	ctx := context.Background()
	staff := openfeature.NewEvaluationContext("user-123", map[string]any{
		"email": "ana@example.com", "plan": "pro", "country": "US", "age": 34, "accountId": "acct-42",
		"device": map[string]any{"os": "ios"}, "appVersion": "4.3.0",
	})

	b, err := c.BooleanValueDetails(ctx, "new-checkout", false, staff)
	if err != nil || !b.Value || b.Variant != "on" || b.Reason != openfeature.TargetingMatchReason || b.FlagMetadata["ruleId"] != "staff" {
		t.Errorf("boolean: %+v %v", b, err)
	}
	s, err := c.StringValueDetails(ctx, "search-ranking", "none", openfeature.NewEvaluationContext("u-2", map[string]any{"plan": "enterprise", "country": "DE"}))
	if err != nil || s.Value != "neural-v2" || s.Variant != "neural" || s.Reason != openfeature.TargetingMatchReason {
		t.Errorf("string: %+v %v", s, err)
	}
	split, err := c.StringValueDetails(ctx, "checkout-button-color", "", staff)
	if err != nil || split.Reason != openfeature.SplitReason || (split.Value != "#1a73e8" && split.Value != "#188038" && split.Value != "#e8710a") {
		t.Errorf("string split: %+v %v", split, err)
	}
	i, err := c.IntValueDetails(ctx, "payment-retry-limit", -1, staff)
	if err != nil || i.Value != 5 || i.Variant != "many" {
		t.Errorf("integer: %+v %v", i, err)
	}
	f, err := c.FloatValueDetails(ctx, "payment-retry-limit", -1, openfeature.NewEvaluationContext("u-3", map[string]any{"age": 18}))
	if err != nil || f.Value != 0 || f.Variant != "none" {
		t.Errorf("float: %+v %v", f, err)
	}
	o, err := c.ObjectValueDetails(ctx, "homepage-banner", map[string]any{}, staff)
	want := map[string]any{"show": true, "title": "Spring sale", "discountPercent": 20.0, "colors": []any{"green", "white"}}
	if err != nil || !reflect.DeepEqual(o.Value, want) || o.Variant != "spring" {
		t.Errorf("object: %+v %v", o, err)
	}
	// A disabled flag (a draft, or disabled in the environment): edgefn
	// sends its off variant with reason DISABLED; the Go provider then
	// answers the code default, as OpenFeature prescribes.
	d, err := c.BooleanValueDetails(ctx, "referral-program", true, staff)
	if err != nil || !d.Value || d.Reason != openfeature.DisabledReason || d.Variant != "off" {
		t.Errorf("draft flag: %+v %v", d, err)
	}
	def, err := c.BooleanValueDetails(ctx, "express-shipping", true, staff)
	if err != nil || !def.Value || def.Reason != openfeature.DisabledReason {
		t.Errorf("disabled flag: %+v %v", def, err)
	}
	// An archived flag is not in the bundle: the SDK gets FLAG_NOT_FOUND
	// and the code default.
	nf, err := c.BooleanValueDetails(ctx, "legacy-coupons", true, staff)
	if err == nil || !nf.Value || nf.ErrorCode != openfeature.FlagNotFoundCode {
		t.Errorf("missing flag: %+v %v", nf, err)
	}
	// A type the flag does not have: the SDK reports TYPE_MISMATCH.
	tm, err := c.BooleanValueDetails(ctx, "checkout-button-color", true, staff)
	if err == nil || !tm.Value || tm.ErrorCode != openfeature.TypeMismatchCode {
		t.Errorf("type mismatch: %+v %v", tm, err)
	}
	// No targeting key: the split falls back to the default variant.
	nk, err := c.StringValueDetails(ctx, "checkout-button-color", "", openfeature.NewTargetlessEvaluationContext(map[string]any{"plan": "pro"}))
	if err != nil || nk.Value != "#1a73e8" {
		t.Errorf("no targeting key: %+v %v", nk, err)
	}
	// A wrong API key: the provider reports a general error and the default.
	bad := ofrep.NewProvider(r.url, ofrep.WithApiKeyAuth("efk_wrong"), ofrep.WithClient(hc))
	if err := openfeature.SetNamedProviderAndWait("edgefn-bad", bad); err != nil {
		t.Fatal(err)
	}
	ub, err := openfeature.NewClient("edgefn-bad").BooleanValueDetails(ctx, "new-checkout", true, staff)
	if err == nil || !ub.Value || ub.ErrorCode != openfeature.GeneralCode {
		t.Errorf("unauthorized: %+v %v", ub, err)
	}
	if n := spec.Validated.Load(); n < 12 {
		t.Errorf("only %d OFREP responses validated", n)
	}
}
