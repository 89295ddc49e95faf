//go:build integration

package soak_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/bench/soak"
	"github.com/edgeflag/edgeflag/edgefn/internal/devenv"
	"github.com/edgeflag/edgeflag/publisher/cli"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devenv.RemoveBuilds()
	os.Exit(code)
}

// TestSoakShort is the short soak of make test: 10 s of OFREP load on a
// real edgefn serve (the peer flag set) while a new version is published
// every second. It asserts no error: every answer right, every publish
// served, no version going back. (The 5-minute soak with its goroutine
// and memory figures is edgefn/bench/soak.sh; docs/performance.md.)
func TestSoakShort(t *testing.T) {
	bin := devenv.Edgefn(t)
	e := devenv.New(t, "../flags/peer", "bench", "production", "")
	e.Publish()
	cmd := exec.Command(bin, e.ServeArgs("--refresh-interval", "1s", "--rate-limits", "ofrep=off,ofrep_bulk=off", "--log-level", "warn")...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(e.ReadyFile()); err == nil && len(b) > 0 {
			url = strings.TrimSpace(string(b))
		} else if time.Now().After(deadline) {
			t.Fatalf("edgefn serve not ready:\n%s", log.String())
		}
	}
	publish := func(ctx context.Context) error {
		var out, errOut bytes.Buffer
		code := cli.Main(ctx, []string{"publish", e.Flags, "--env", e.Environment, "--key", e.SigningKey, "--store", e.Store,
			"--reason", "soak", "--actor", "soak"}, nil, &out, &errOut, func(string) string { return "" })
		if code != 0 {
			return fmt.Errorf("publish: exit %d: %s", code, errOut.String())
		}
		return nil
	}
	rep, err := soak.Run(context.Background(), soak.Config{URL: url, APIKey: devenv.APIKey, Flags: 103, PID: cmd.Process.Pid,
		Publish: publish, Duration: 10 * time.Second, Sample: 2 * time.Second, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests (%d bulk, %d 304), %d published, versions %d -> %d", rep.Requests, rep.Bulk, rep.NotModified,
		rep.Published, rep.FirstVersion, rep.LastVersion)
	if rep.Errors != 0 {
		t.Fatalf("%d errors under republishing load: %q\nedgefn:\n%s", rep.Errors, rep.Problems, log.String())
	}
	if rep.Published < 5 || rep.LastVersion < rep.FirstVersion+uint64(rep.Published) || rep.Bulk == 0 || rep.Requests < 100 {
		t.Fatalf("the soak did not soak: %+v", rep)
	}
}
