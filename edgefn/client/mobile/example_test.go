package mobile_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/edgeflag/edgeflag/edgefn/client/internal/clienttest"
	"github.com/edgeflag/edgeflag/edgefn/client/mobile"
)

// backend stands for the app's own backend, which mints client tokens with
// POST /v1/tokens.
type backend struct{ edgefn *clienttest.Edgefn }

func (b backend) Token() (string, error) { return b.edgefn.Token(context.Background()) }

// The gomobile example of docs/offline.md (the same calls from Kotlin or
// Swift), against a real edgefn serve's /v1/bootstrap.
func ExampleNewClient() {
	edgefn, stop := clienttest.ExampleEdgefn() // a real edgefn serve with examples/shop published
	defer stop()
	edgefnURL, jwks, cacheDir, tokens := edgefn.URL, string(edgefn.JWKS), filepath.Join(edgefn.Dir(), "flags"), backend{edgefn}

	// docs: begin mobile
	c, err := mobile.NewClient(&mobile.Config{
		URL:          edgefnURL + "/v1/bootstrap",
		Tokens:       tokens, // a TokenSource: Token() (string, error)
		JWKS:         jwks,
		Project:      "shop",
		Environment:  "production",
		CacheDir:     cacheDir, // app-private storage
		GraceSeconds: 3 * 24 * 3600,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Refresh(); err != nil {
		log.Print(err) // offline: cache or defaults
	}
	c.Start()

	user := mobile.NewContext("user-123")
	user.SetString("email", "ana@example.com")
	fmt.Println(c.BoolValue("new-checkout", false, user), c.Status().Serving)
	// docs: end mobile

	// Output: true fresh
}
