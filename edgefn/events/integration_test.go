//go:build integration

package events

// These tests run the writer against a real S3 server: .ci/versitygw.sh
// starts versitygw on 127.0.0.1 and sets EDGEFLAG_S3_URL:
//
//	.ci/versitygw.sh go test -tags integration ./edgefn/events/...

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
)

func openS3(t *testing.T) listStore {
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

func runID() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

func TestIntegrationUniqueEventsS3(t *testing.T) {
	uniqueScenario(t, openS3(t), "ev-"+runID(), 3000, Config{MaxBatchEvents: 200, MaxAge: 10 * time.Second})
}

func TestIntegrationFailingS3LosesNothing(t *testing.T) {
	f := &flaky{listStore: openS3(t), failFirst: 5}
	uniqueScenario(t, f, "evf-"+runID(), 1500, Config{MaxBatchEvents: 100, MaxAge: 5 * time.Second})
	if f.lost.Load() == 0 {
		t.Fatal("no lost answers exercised")
	}
}
