// Command edgeflag-package zips edgefn's bootstrap for Lambda, checks the
// Lambda@Edge viewer zip and reports both sizes against Lambda's limits
// (`make package`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/infra/deploy"
)

func main() {
	fs := flag.NewFlagSet("edgeflag-package", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "dist/edgefn/bootstrap", "the linux/arm64 edgefn binary")
	out := fs.String("out", "dist/edgefn.zip", "the function zip to write")
	edge := fs.String("edge-zip", "", "the viewer package to check (make edge writes edgefn/viewer/dist/edge.zip); empty: the function only")
	_ = fs.Parse(os.Args[1:])
	if err := deploy.Package(*bootstrap, *out, *edge, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "edgeflag-package:", err)
		os.Exit(2)
	}
}
