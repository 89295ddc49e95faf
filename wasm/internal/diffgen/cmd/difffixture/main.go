// Command difffixture writes the native-versus-wasm differential in the
// sealed corpus' layout (diffgen.Fixture) for the JavaScript client's
// tests; make js-test runs it:
//
//	go run ./wasm/internal/diffgen/cmd/difffixture -seed 21 -results 5000 -o wasm/js/test/.build/diff
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/wasm/internal/diffgen"
)

func main() {
	if err := Run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "difffixture:", err)
		os.Exit(1)
	}
}

// Run parses args and writes the fixture.
func Run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("difffixture", flag.ContinueOnError)
	seed := fs.Uint64("seed", 21, "the input stream's seed")
	results := fs.Int("results", 5000, "write cases until they hold at least this many results")
	out := fs.String("o", "", "the directory to write (replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: difffixture [-seed N] [-results N] -o DIR")
	}
	if *results <= 0 {
		return fmt.Errorf("-results %d: want a positive number", *results)
	}
	st, err := diffgen.WriteFixture(*out, *seed, *results)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d configs (of %d generated), %d cases, %d results\n", *out, st.Configs, st.Tried, st.Cases, st.Results)
	return nil
}
