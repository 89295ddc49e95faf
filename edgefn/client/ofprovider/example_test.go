package ofprovider_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
	"github.com/edgeflag/edgeflag/edgefn/client/ofprovider"
)

// The OpenFeature example of docs/offline.md, against a real edgefn serve.
func Example() {
	edgefn, stop := clienttest.ExampleEdgefn() // a real edgefn serve with examples/shop published
	defer stop()
	edgefnURL, apiKey, jwks, cacheDir := edgefn.URL, edgefn.APIKey, edgefn.JWKS, filepath.Join(edgefn.Dir(), "flags-cache")

	// docs: begin openfeature
	c, err := client.New(client.Config{URL: edgefnURL + "/v1/flags", APIKey: apiKey, JWKS: jwks,
		Project: "shop", Environment: "production", CacheDir: cacheDir})
	if err != nil {
		log.Fatal(err)
	}
	// Init refreshes once if nothing usable is cached, then in the background.
	if err := openfeature.SetProviderAndWait(ofprovider.New(c)); err != nil {
		log.Print(err) // no bundle yet: the code defaults until one is verified
	}
	defer openfeature.Shutdown() // closes c

	flags := openfeature.NewDefaultClient()
	user := openfeature.NewEvaluationContext("user-123", map[string]any{"email": "ana@example.com"})
	d, err := flags.BooleanValueDetails(context.Background(), "new-checkout", false, user)
	fmt.Println(d.Value, d.Reason, d.Variant, d.FlagMetadata["ruleId"], err)
	// docs: end openfeature

	// Output: true TARGETING_MATCH on staff <nil>
}
