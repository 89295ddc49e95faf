// Command edgefn-pprof is edgefn with Go's profiler, for profiling under
// load only (never deployed): the same app.Run as cmd/edgefn, plus
// net/http/pprof on a second listener (-pprof, default 127.0.0.1:6060).
//
//	edgefn-pprof -pprof 127.0.0.1:6060 serve --store ... --addr 127.0.0.1:8080
//	go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=10
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/app"
)

func main() {
	fs := flag.NewFlagSet("edgefn-pprof", flag.ExitOnError)
	addr := fs.String("pprof", "127.0.0.1:6060", "profiler listen `address`")
	_ = fs.Parse(os.Args[1:])
	go func() {
		srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second} // DefaultServeMux: net/http/pprof
		fmt.Fprintln(os.Stderr, "edgefn-pprof:", srv.ListenAndServe())
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, fs.Args())
	stop()
	if err != nil && app.ExitCode(err) != app.ExitOK {
		fmt.Fprintf(os.Stderr, "edgefn: %v\n", err)
	}
	os.Exit(app.ExitCode(err))
}
