// Command soak runs package soak against a running edgefn serve: OFREP
// load while -publish (a shell command) publishes a new version every
// -republish, every answer checked, goroutines and memory sampled. It
// prints the samples and a summary, and exits 1 on any error.
//
//	soak -url http://127.0.0.1:8080 -key efk_... -pid 1234 -flags 103 \
//	    -publish 'edgeflag publish ...' -duration 5m
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/bench/soak"
)

func main() {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	var cfg soak.Config
	fs.StringVar(&cfg.URL, "url", "", "edgefn's base `URL`")
	fs.StringVar(&cfg.APIKey, "key", "", "API `key` with flags:read")
	fs.IntVar(&cfg.PID, "pid", 0, "edgefn's process `id` (for VmRSS)")
	fs.IntVar(&cfg.Flags, "flags", 103, "flags in a bulk answer")
	publish := fs.String("publish", "", "shell `command` that publishes the next version")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Minute, "how long to load")
	fs.DurationVar(&cfg.Republish, "republish", time.Second, "publish interval")
	fs.DurationVar(&cfg.Sample, "sample", 10*time.Second, "sampling interval")
	fs.IntVar(&cfg.Conns, "conns", 8, "concurrent connections")
	_ = fs.Parse(os.Args[1:])
	if *publish == "" {
		fmt.Fprintln(os.Stderr, "soak: -publish is required")
		os.Exit(2)
	}
	cfg.Publish = func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, "sh", "-c", *publish).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := soak.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("| t (s) | version | requests | errors | goroutines | heap MB | runtime MB | RSS MB |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range rep.Samples {
		fmt.Printf("| %.0f | %d | %d | %d | %d | %.1f | %.1f | %.1f |\n", s.At.Seconds(), s.Version, s.Requests, s.Errors,
			s.Goroutines, float64(s.HeapBytes)/1e6, float64(s.RuntimeBytes)/1e6, float64(s.RSSKiB)/1024)
	}
	g, h, r := rep.Growth()
	fmt.Printf("\n%s: %d requests (%d single, %d bulk of which %d were 304), %.0f req/s, %d errors; %d versions published (%d -> %d served)\n",
		rep.Elapsed.Round(time.Second), rep.Requests, rep.Single, rep.Bulk, rep.NotModified, float64(rep.Requests)/rep.Elapsed.Seconds(),
		rep.Errors, rep.Published, rep.FirstVersion, rep.LastVersion)
	fmt.Printf("growth, last third vs first third of the samples under load (medians): goroutines %+d, heap %+.1f MB, RSS %+.1f MB\n",
		g, float64(h)/1e6, float64(r)/1024)
	for _, p := range rep.Problems {
		fmt.Println("error:", p)
	}
	if rep.Errors > 0 {
		os.Exit(1)
	}
}
