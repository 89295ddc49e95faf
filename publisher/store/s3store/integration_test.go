//go:build integration

package s3store_test

// These tests run against a real S3 server: .ci/versitygw.sh starts
// versitygw on 127.0.0.1 and sets EDGEFLAG_S3_URL, e.g.
//
//	.ci/versitygw.sh go test -tags integration ./publisher/store/...

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/internal/storetest"
)

// openIntegration opens the store EDGEFLAG_S3_URL names, failing (never
// skipping) when the integration tag is set but the env is missing.
func openIntegration(t *testing.T) store.Blob {
	t.Helper()
	u := os.Getenv("EDGEFLAG_S3_URL")
	if u == "" {
		t.Fatal("EDGEFLAG_S3_URL is not set: run the integration tests through .ci/versitygw.sh")
	}
	b, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runID keeps repeated runs (-count) against one server apart.
func runID() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

func TestIntegrationConformance(t *testing.T) {
	storetest.Conformance(t, openIntegration(t), "conf-"+runID())
}

// TestIntegrationRace: 6 goroutines x 5 attempts publish to one environment
// on real S3 conditional writes, 20 rounds.
func TestIntegrationRace(t *testing.T) {
	p := store.NewPublisher(openIntegration(t))
	project := "race-" + runID()
	for round := 0; round < 20; round++ {
		env := fmt.Sprintf("env%d", round)
		out := storetest.Race(t, p, project, env, 6, 5)
		wins := storetest.CheckRace(t, p, project, env, out, 30)
		t.Logf("round %d: %d of 30 attempts won", round, wins)
	}
}

func TestIntegrationConflictMessage(t *testing.T) {
	p := store.NewPublisher(openIntegration(t))
	ctx := context.Background()
	project := "conflict-" + runID()
	h, err := p.Head(ctx, project, "production")
	if err != nil {
		t.Fatal(err)
	}
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("one")}, Actor: "alice"}
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatal(err)
	}
	_, err = p.Publish(ctx, h, req)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || err.Error() != "retry: someone published version 1" {
		t.Fatalf("stale head: err = %v, want \"retry: someone published version 1\"", err)
	}
	// The pointer swap itself is conditional on S3: a head whose ETag is
	// stale loses even when its version's objects are free.
	h2, _ := p.Head(ctx, project, "production")
	if _, err := p.Publish(ctx, h2, req); err != nil {
		t.Fatal(err)
	}
	h2.Next = 3
	if _, err := p.Publish(ctx, h2, req); !errors.As(err, &ce) || ce.Version != 2 {
		t.Fatalf("stale pointer etag: err = %v, want a conflict naming version 2", err)
	}
}
