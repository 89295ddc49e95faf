// Command edgeflag-edge builds the Lambda@Edge package (`make edge`):
// edgefn/viewer/dist/edge.zip from an edge configuration (docs/edge.md),
// with its size reported against Lambda@Edge's limits.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/edgefn/viewer/edgepack"
)

func main() {
	err := edgepack.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "edgeflag-edge:", err)
	if errors.Is(err, edgepack.ErrUsage) || errors.Is(err, edgepack.ErrTooLarge) {
		os.Exit(1)
	}
	os.Exit(2)
}
