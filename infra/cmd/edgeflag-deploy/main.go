// Command edgeflag-deploy deploys one edgeflag environment to AWS (`make
// deploy`); see docs/deploy.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/edgeflag/edgeflag/infra/deploy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := deploy.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgeflag-deploy:", err)
		if errors.Is(err, deploy.ErrUsage) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}
