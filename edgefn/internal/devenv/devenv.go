// Package devenv makes, for tests and benchmarks, what `make run` makes
// with the real edgeflag CLI (publisher/cli, in-process): a signing key
// and its JWKS, a token key, an API keys file holding the hash of one API
// key, and a store a flags directory is published to. It hands out the
// matching `edgefn serve` arguments and Lambda EDGEFN_* variables.
package devenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/cli"
)

// APIKey is the secret of the API key every Env trusts (scopes
// flags:read, tokens:issue, events:write; every project).
const APIKey = "efk_devenv-test-key"

// Env is one set-up.
type Env struct {
	t testing.TB
	// Dir holds everything the set-up writes.
	Dir string
	// Flags is the flags-as-code directory, Project its project and
	// Environment the environment published.
	Flags, Project, Environment string
	// Store is the store URL published to (file://Dir/store by default).
	Store string
	// SigningKey, JWKS, TokenKey and APIKeys are file paths.
	SigningKey, JWKS, TokenKey, APIKeys string
}

// New makes the keys and the API keys file for publishing flagsDir's
// project environment to store ("" : a folder store in Dir).
func New(t testing.TB, flagsDir, project, environment, store string) *Env {
	t.Helper()
	dir := t.TempDir()
	if store == "" {
		store = "file://" + filepath.Join(dir, "store")
	}
	e := &Env{t: t, Dir: dir, Flags: flagsDir, Project: project, Environment: environment, Store: store,
		SigningKey: filepath.Join(dir, "signing.key"), JWKS: filepath.Join(dir, "signing.key.jwks.json"),
		TokenKey: filepath.Join(dir, "token.key"), APIKeys: filepath.Join(dir, "api-keys.yaml")}
	e.Edgeflag("keygen", "--out", e.SigningKey)
	e.Edgeflag("keygen", "--out", e.TokenKey)
	sum := sha256.Sum256([]byte(APIKey))
	keys := "keys:\n  - name: devenv\n    sha256: " + hex.EncodeToString(sum[:]) + "\n    scopes: [flags:read, tokens:issue, events:write]\n"
	if err := os.WriteFile(e.APIKeys, []byte(keys), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// Edgeflag runs the edgeflag CLI with args and returns its stdout; a
// non-zero exit fails the test. It sees the process environment (AWS
// settings for s3:// stores) without webhook secrets, so publishing a
// project with webhooks (examples/shop) delivers nothing.
func (e *Env) Edgeflag(args ...string) string {
	e.t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), args, nil, &out, &errOut, getenv); code != 0 {
		e.t.Fatalf("edgeflag %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

func getenv(k string) string {
	if strings.HasPrefix(k, "EDGEFLAG_WEBHOOK") {
		return ""
	}
	return os.Getenv(k)
}

// Publish publishes the flags directory as the next version and returns
// it.
func (e *Env) Publish() uint64 {
	e.t.Helper()
	out := bytes.TrimSpace([]byte(e.Edgeflag("publish", e.Flags, "--env", e.Environment, "--key", e.SigningKey,
		"--store", e.Store, "--reason", "test", "--actor", "test")))
	last := out[bytes.LastIndexByte(out, '\n')+1:]
	v, err := strconv.ParseUint(string(last), 10, 64)
	if err != nil {
		e.t.Fatalf("publish printed %q last, not a version", last)
	}
	return v
}

// ServeArgs are the `edgefn serve` arguments for this set-up, listening
// on a free port of 127.0.0.1 and writing its URL to ReadyFile; extra
// flags follow (a later flag wins).
func (e *Env) ServeArgs(extra ...string) []string {
	return append([]string{"serve", "--store", e.Store, "--project", e.Project, "--env", e.Environment,
		"--jwks", e.JWKS, "--api-keys", e.APIKeys, "--token-key", e.TokenKey,
		"--addr", "127.0.0.1:0", "--ready-file", e.ReadyFile()}, extra...)
}

// ReadyFile is where `edgefn serve` with ServeArgs writes its URL.
func (e *Env) ReadyFile() string { return filepath.Join(e.Dir, "ready") }

// LambdaEnv is the Lambda function's configuration for this set-up
// (EDGEFN_* variables, a cache directory of its own), extra appended
// (a later variable wins).
func (e *Env) LambdaEnv(extra ...string) []string {
	return append([]string{"EDGEFN_STORE=" + e.Store, "EDGEFN_PROJECT=" + e.Project, "EDGEFN_ENV=" + e.Environment,
		"EDGEFN_JWKS=" + e.JWKS, "EDGEFN_API_KEYS=" + e.APIKeys, "EDGEFN_TOKEN_KEY=" + e.TokenKey,
		"EDGEFN_CACHE_DIR=" + filepath.Join(e.Dir, "lambda-cache")}, extra...)
}

// S3Store returns the integration tests' S3 store (EDGEFLAG_S3_URL, set
// by .ci/versitygw.sh) with a fresh prefix of its own, failing (never
// skipping) when the server is not there.
func S3Store(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("EDGEFLAG_S3_URL")
	if raw == "" {
		t.Fatal("EDGEFLAG_S3_URL is not set: run the integration tests through .ci/versitygw.sh (make integration)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/edgefn-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return u.String()
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Edgefn returns cmd/edgefn built as `make lambda` builds the Lambda
// bootstrap (-tags lambda.norpc, CGO_ENABLED=0): the binary that is both
// `edgefn serve` and the function. It is built once per test binary;
// call RemoveBuilds from TestMain after m.Run.
func Edgefn(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "edgefn-build"); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(buildDir, "bootstrap"),
			"github.com/edgeflag/edgeflag/edgefn/cmd/edgefn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build edgefn: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "bootstrap")
}

// RemoveBuilds removes what Edgefn built.
func RemoveBuilds() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}
