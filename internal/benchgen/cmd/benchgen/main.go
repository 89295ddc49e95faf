// Command benchgen writes the realistic flag set of package benchgen as a
// flags-as-code directory, for measuring the CLI on it:
//
//	go run ./internal/benchgen/cmd/benchgen -n 10000 DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/internal/benchgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("benchgen", flag.ContinueOnError)
	n := fs.Int("n", 10000, "number of flags")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: benchgen [-n N] DIR")
	}
	return benchgen.WriteDir(fs.Arg(0), *n)
}
