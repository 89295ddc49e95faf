package client_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/client"
	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
)

// The quick start of docs/offline.md (TestDocExamples keeps the two equal),
// against a real edgefn serve with examples/shop published.
func Example() {
	edgefn, stop := clienttest.ExampleEdgefn() // a real edgefn serve with examples/shop published
	defer stop()
	edgefnURL, apiKey, jwks, cacheDir := edgefn.URL, edgefn.APIKey, edgefn.JWKS, filepath.Join(edgefn.Dir(), "flags-cache")

	// docs: begin quick-start
	c, err := client.New(client.Config{
		URL:         edgefnURL + "/v1/flags", // or …/v1/bootstrap with Token, any https URL, s3://bucket/prefix
		APIKey:      apiKey,                  // scope flags:read
		JWKS:        jwks,                    // the publisher's public keys (edgeflag keygen writes KEY.jwks.json)
		Project:     "shop",
		Environment: "production",
		CacheDir:    cacheDir, // the last verified bundle and the version floor
		Grace:       72 * time.Hour,
	})
	if err != nil {
		log.Fatal(err) // a configuration error: being offline is not one
	}
	defer c.Close()
	if err := c.Refresh(context.Background()); err != nil {
		log.Print(err) // offline: the cached bundle, or your defaults, is served
	}
	c.Start() // refresh in the background, with jitter, until Close

	user := map[string]any{"targetingKey": "user-123", "email": "ana@example.com"}
	fmt.Println(c.BoolValue("new-checkout", false, user))
	st := c.Status()
	fmt.Println(st.Serving, st.Version)
	// docs: end quick-start

	// Output:
	// true
	// fresh 1
}
