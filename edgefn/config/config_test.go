package config_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/config"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var required = []string{"--store", "file:///s", "--project", "shop", "--env", "production", "--jwks", "k.jwks.json", "--api-keys", "keys.yaml", "--token-key", "token.key"}

func TestFlagsAndEnv(t *testing.T) {
	c, err := config.Parse(required, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "file:///s" || c.Addr != "127.0.0.1:8080" || c.RefreshInterval != 15*time.Second || c.CacheDir != "" || c.LogLevel != "info" {
		t.Fatalf("%+v", c)
	}
	env := envOf(map[string]string{
		"EDGEFN_STORE": "s3://b/p", "EDGEFN_PROJECT": "shop", "EDGEFN_ENV": "staging", "EDGEFN_JWKS": `{"keys":[]}`,
		"EDGEFN_API_KEYS": "ssm:/k", "EDGEFN_TOKEN_KEY": "secretsmanager:t", "EDGEFN_ADDR": "127.0.0.1:0",
		"EDGEFN_REFRESH_INTERVAL": "30s", "EDGEFN_CACHE_DIR": "/var/cache/edgefn", "EDGEFN_RATE_LIMITS": "ofrep=1/s",
	})
	c, err = config.Parse([]string{"--env", "production"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "s3://b/p" || c.Env != "production" || c.APIKeys != "ssm:/k" || c.Addr != "127.0.0.1:0" || c.RefreshInterval != 30*time.Second || c.CacheDir != "/var/cache/edgefn" || c.RateLimits != "ofrep=1/s" {
		t.Fatalf("flag over env: %+v", c)
	}
	l, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	if l.Env != "staging" || l.Addr != "127.0.0.1:8080" {
		t.Fatalf("lambda: %+v (EDGEFN_ADDR is serve-only)", l)
	}
	l, _ = config.FromEnv(envOf(map[string]string{"EDGEFN_STORE": "s3://b", "EDGEFN_PROJECT": "p", "EDGEFN_ENV": "e", "EDGEFN_JWKS": "j", "EDGEFN_API_KEYS": "a", "EDGEFN_TOKEN_KEY": "t"}))
	if l.CacheDir != "/tmp/edgefn" {
		t.Fatalf("lambda cache dir %q", l.CacheDir)
	}
	if got := config.EnvName("token-key"); got != "EDGEFN_TOKEN_KEY" {
		t.Fatal(got)
	}
}

func TestErrors(t *testing.T) {
	_, err := config.Parse(nil, envOf(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--store, --project, --env, --jwks, --api-keys, --token-key") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := config.FromEnv(envOf(nil)); err == nil || !strings.Contains(err.Error(), "EDGEFN_STORE") {
		t.Fatalf("lambda missing: %v", err)
	}
	for _, extra := range [][]string{{"--addr", "nope"}, {"--refresh-interval", "10ms"}, {"--log-level", "loud"}, {"--bogus"}, {"positional"}, {"--refresh-timeout", "0s"}} {
		if _, err := config.Parse(append(append([]string{}, required...), extra...), envOf(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", extra)
		}
	}
	if _, err := config.Parse(required, envOf(map[string]string{"EDGEFN_REFRESH_TIMEOUT": "soon"}), io.Discard); err == nil {
		t.Error("bad duration in env accepted")
	}
	if _, err := config.Parse([]string{"-h"}, envOf(nil), io.Discard); !errors.Is(err, config.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}
