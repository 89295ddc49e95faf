// Command edgeflag is the flags-as-code CLI: it validates, evaluates, builds,
// signs, publishes, diffs, rolls back, inspects and audits flag bundles.
// All logic lives in publisher/cli; this file only wires the process to it.
// See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeflag/edgeflag/publisher/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
