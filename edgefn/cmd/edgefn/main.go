// Command edgefn serves verified flag bundles: `edgefn serve` runs an HTTP
// server, and with AWS_LAMBDA_RUNTIME_API set the same binary is the AWS
// Lambda function (build it with -tags lambda.norpc). See docs/api.md and
// docs/operations.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeflag/edgeflag/edgefn/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:])
	stop()
	if err != nil && app.ExitCode(err) != app.ExitOK {
		fmt.Fprintf(os.Stderr, "edgefn: %v\n", err)
	}
	os.Exit(app.ExitCode(err))
}
