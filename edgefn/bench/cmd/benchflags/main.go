// Command benchflags writes the load tests' flag set (package peerflags)
// as an edgeflag flags-as-code directory and as a GO Feature Flag file.
//
//	benchflags -n 100 -edgeflag DIR -goff FILE      # the peer set (what edgefn/bench/flags holds)
//	benchflags -n 10000 -basics=false -varied -edgeflag DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeflag/edgeflag/edgefn/bench/internal/peerflags"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchflags: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("benchflags", flag.ContinueOnError)
	var s peerflags.Set
	fs.IntVar(&s.N, "n", 100, "number of F2-like flags")
	fs.BoolVar(&s.Basics, "basics", true, "add f1, f2 and f3")
	fs.BoolVar(&s.Varied, "varied", false, "make every F2-like flag differ")
	dir := fs.String("edgeflag", "", "write the flags-as-code file into `DIR` (created)")
	goff := fs.String("goff", "", "write the GO Feature Flag flag file to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || s.N < 0 || (*dir == "" && *goff == "") {
		return fmt.Errorf("usage: benchflags [-n N] [-basics=false] [-varied] [-edgeflag DIR] [-goff FILE]")
	}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, "flags.yaml"), peerflags.Edgeflag(s), 0o644); err != nil {
			return err
		}
	}
	if *goff != "" {
		if err := os.WriteFile(*goff, peerflags.GOFF(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}
