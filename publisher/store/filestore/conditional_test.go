package filestore_test

import (
	"testing"

	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/store/internal/storetest"
)

func TestConditionalGet(t *testing.T) {
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.ConditionalGet(t, s, "p")
}
