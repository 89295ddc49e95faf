package redact

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/x?token=s3cr3t&a=1&a=2":   "https://hooks.example.com/x?a=REDACTED&a=REDACTED&token=REDACTED",
		"https://user:pw@host/p":                             "https://user:REDACTED@host/p",
		"https://user@host/p":                                "https://user@host/p",
		"s3://bucket/prefix?region=eu&endpoint=http://k:s@h": "s3://bucket/prefix?endpoint=REDACTED&region=REDACTED",
		"https://host/p#access_token=abc":                    "https://host/p#REDACTED",
		"https://host/plain":                                 "https://host/plain",
		"http://[::1%zz/":                                    "<unparsable URL>",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorRedactsHTTPClientErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:1/hook?token=s3cr3t", nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil || !strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("precondition: the client error carries the query: %v", err)
	}
	err = Error(err)
	if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "token=REDACTED") {
		t.Errorf("redacted error %q", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Error("the chain was lost")
	}
}
