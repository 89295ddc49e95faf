package clienttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/app"
	"github.com/edgeflag/edgeflag/publisher/cli"
)

// Edgefn is a real `edgefn serve` (app.Env.Run, in-process) serving
// examples/shop (environment production) as published by the real CLI
// into a folder store.
type Edgefn struct {
	// URL is where it listens; JWKS the publisher's public key set;
	// APIKey a key with scopes flags:read and tokens:issue.
	URL    string
	JWKS   []byte
	APIKey string

	dir  string
	once sync.Once
	stop func() error
}

// StartEdgefn publishes examples/shop into dir and serves it.
func StartEdgefn(dir string) (*Edgefn, error) {
	e := &Edgefn{dir: dir, APIKey: "efk_offline-client-example"}
	for _, args := range [][]string{
		{"keygen", "--out", filepath.Join(dir, "signing.key")},
		{"keygen", "--out", filepath.Join(dir, "token.key")},
	} {
		if err := edgeflag(args...); err != nil {
			return nil, err
		}
	}
	if err := e.Publish(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(e.APIKey))
	keys := "keys:\n  - name: app\n    sha256: " + hex.EncodeToString(sum[:]) + "\n    scopes: [flags:read, tokens:issue]\n"
	if err := os.WriteFile(filepath.Join(dir, "api-keys.yaml"), []byte(keys), 0o644); err != nil {
		return nil, err
	}
	var err error
	if e.JWKS, err = os.ReadFile(filepath.Join(dir, "signing.key.jwks.json")); err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, "ready")
	args := []string{"serve", "--store", "file://" + filepath.Join(dir, "store"), "--project", "shop", "--env", "production",
		"--jwks", filepath.Join(dir, "signing.key.jwks.json"), "--api-keys", filepath.Join(dir, "api-keys.yaml"),
		"--token-key", filepath.Join(dir, "token.key"), "--addr", "127.0.0.1:0", "--ready-file", ready, "--refresh-interval", "1s"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&app.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}).Run(ctx, args)
	}()
	e.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("edgefn serve did not stop within 15s")
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(ready); err == nil && len(data) > 0 {
			e.URL = strings.TrimSpace(string(data))
			return e, nil
		}
		select {
		case err := <-done:
			cancel()
			return nil, fmt.Errorf("edgefn serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, errors.New("edgefn serve not ready after 15s")
		}
	}
}

// StartEdgefnT is StartEdgefn in a temporary directory, stopped when the
// test ends.
func StartEdgefnT(t testing.TB) *Edgefn {
	t.Helper()
	e, err := StartEdgefn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// Dir is the directory the server's files are in.
func (e *Edgefn) Dir() string { return e.dir }

// Publish publishes examples/shop again (the next version); edgefn picks
// it up within a second.
func (e *Edgefn) Publish() error {
	return edgeflag("publish", examplesShop(), "--env", "production", "--key", filepath.Join(e.dir, "signing.key"),
		"--store", "file://"+filepath.Join(e.dir, "store"), "--reason", "test", "--actor", "test")
}

// Stop stops the server (once).
func (e *Edgefn) Stop() error {
	var err error
	e.once.Do(func() { err = e.stop() })
	return err
}

// Token mints a client token for user-123 with scope bootstrap.
func (e *Edgefn) Token(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/v1/tokens",
		strings.NewReader(`{"subject":"user-123","scopes":["bootstrap"],"ttlSeconds":600}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", e.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("mint a token: %s: %v", resp.Status, err)
	}
	return out.Token, nil
}

// edgeflag runs the edgeflag CLI.
func edgeflag(args ...string) error {
	var errOut bytes.Buffer
	if code := cli.Main(context.Background(), args, nil, io.Discard, &errOut, func(string) string { return "" }); code != 0 {
		return fmt.Errorf("edgeflag %v: exit %d: %s", args, code, errOut.String())
	}
	return nil
}

// examplesShop is the repository's examples/shop, wherever the test runs.
func examplesShop() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "examples", "shop")
}

// ExampleEdgefn is StartEdgefn in a temporary directory for a Go example
// (which has no *testing.T): it exits the program on failure, and the
// returned function stops the server and removes the directory.
func ExampleEdgefn() (*Edgefn, func()) {
	dir, err := os.MkdirTemp("", "edgeflag-example-")
	if err != nil {
		log.Fatal(err)
	}
	e, err := StartEdgefn(dir)
	if err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	return e, func() {
		if err := e.Stop(); err != nil {
			log.Print(err)
		}
		os.RemoveAll(dir)
	}
}
