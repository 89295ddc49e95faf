// Command wasmmodule writes a build of the wasm guest, the way the Go
// tests get it (wasmbuild.Module: TinyGo builds come from the build cache
// when the sources are unchanged), for test suites in other languages:
//
//	go run ./wasm/internal/wasmbuild/cmd/wasmmodule -toolchain tinygo -tags edgeflag_noes256,eftest -o out.wasm
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeflag/edgeflag/wasm/internal/wasmbuild"
)

func main() {
	if err := Run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmmodule:", err)
		os.Exit(1)
	}
}

// Run parses args and writes the module.
func Run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("wasmmodule", flag.ContinueOnError)
	toolchain := fs.String("toolchain", "go", "go or tinygo")
	tags := fs.String("tags", wasmbuild.DefaultTags, "the -tags value")
	out := fs.String("o", "", "the file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: wasmmodule [-toolchain go|tinygo] [-tags TAGS] -o FILE")
	}
	tc := wasmbuild.Toolchain(*toolchain)
	if tc != wasmbuild.Go && tc != wasmbuild.TinyGo {
		return fmt.Errorf("-toolchain %q: want go or tinygo", *toolchain)
	}
	wasm, err := wasmbuild.Module(wasmbuild.Spec{Toolchain: tc, Tags: *tags})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("write module: %w", err)
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, wasm, 0o644); err != nil {
		return fmt.Errorf("write module: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("write module: %w", err)
	}
	return nil
}
