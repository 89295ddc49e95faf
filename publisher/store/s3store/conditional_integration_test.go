//go:build integration

package s3store_test

import (
	"testing"

	"github.com/edgeflag/edgeflag/publisher/store/internal/storetest"
)

// TestIntegrationConditionalGet: versitygw answers If-None-Match with 304.
func TestIntegrationConditionalGet(t *testing.T) {
	storetest.ConditionalGet(t, openIntegration(t), "cond-"+runID())
}
