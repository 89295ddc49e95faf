package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
)

// failingBlob fails every Put whose key contains failKey.
type failingBlob struct {
	store.Blob
	failKey string
}

func (f *failingBlob) Put(ctx context.Context, key string, data []byte, cond blob.Cond) error {
	if f.failKey != "" && strings.Contains(key, f.failKey) {
		return errors.New("disk full")
	}
	return f.Blob.Put(ctx, key, data, cond)
}

// A publisher whose publish fails after it claimed its version records
// the failure, so the environment is not blocked: the next publish skips
// the version at once and says why; the history shows it.
func TestFailedPublishReleasesItsClaim(t *testing.T) {
	ctx := context.Background()
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fb := &failingBlob{Blob: fs}
	p := store.NewPublisher(fb)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("s"), "client": []byte("c")}, Actor: "alice"}
	for _, failKey := range []string{"/bundles/", "/current.json"} {
		fb.failKey = failKey
		h, err := p.Head(ctx, "shop", "prod")
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Publish(ctx, h, req)
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), fmt.Sprintf("(version %d was released: the next publish skips it)", h.Next)) {
			t.Fatalf("failing %s: err = %v", failKey, err)
		}
		fb.failKey = ""
		// No waiting: the very next head skips the failed claim.
		h2, err := p.Head(ctx, "shop", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if h2.Next != h.Next+1 || len(h2.Skipped) != 1 || h2.Skipped[0].Version != h.Next || !strings.HasPrefix(h2.Skipped[0].Why, fmt.Sprintf("abandoned: publish version %d: write ", h.Next)) {
			t.Fatalf("failing %s: head after the failure = %+v", failKey, h2)
		}
		if _, err := p.Publish(ctx, h2, req); err != nil {
			t.Fatal(err)
		}
	}
	_, entries, err := p.History(ctx, "shop", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		s := fmt.Sprintf("%d:%v", e.Version, e.Published)
		if e.Abandoned != nil {
			s += ":abandoned"
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "1:false:abandoned 2:true 3:false:abandoned 4:true" {
		t.Errorf("history %v", got)
	}
}

// A claim dated in the future blocks its version at most until it is
// StaleAfter old by its own date (so never more than twice StaleAfter),
// one dated further ahead than StaleAfter not at all; the conflict message
// says the claim is ahead of this clock and when it will be skipped.
func TestFutureClaimDoesNotBlockForLong(t *testing.T) {
	ctx := context.Background()
	p, dir := newPublisher(t)
	fs, _ := filestore.New(dir)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	claim := func(v int, at time.Time) {
		rec := fmt.Sprintf(`{"format":1,"project":"shop","environment":"prod","version":%d,"action":"publish","from":0,"actor":"skewed","at":%q,"digests":{"server":"00"}}`, v, at.Format(time.RFC3339))
		if err := fs.Put(ctx, store.AuditKey("shop", "prod", uint64(v)), []byte(rec), blob.IfNoneMatch()); err != nil {
			t.Fatal(err)
		}
	}
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("s")}, Actor: "alice"}

	// Dated a year ahead: skipped at once.
	claim(1, now.AddDate(1, 0, 0))
	h, err := p.Head(ctx, "shop", "prod")
	if err != nil || h.Next != 2 || len(h.Skipped) != 1 || !strings.HasPrefix(h.Skipped[0].Why, "dated in the future: claimed at 2027-05-01T12:00:00Z, 8760h0m0s ahead") {
		t.Fatalf("head over a claim a year ahead = %+v, %v", h, err)
	}
	// Dated five minutes ahead: pending, until 15 minutes from now.
	claim(2, now.Add(5*time.Minute))
	h, _ = p.Head(ctx, "shop", "prod")
	_, err = p.Publish(ctx, h, req)
	want := `retry: someone is publishing version 2 (claimed by "skewed" at 2026-05-01T12:05:00Z, 5m0s ahead of this machine's clock); if that publish died, the claim is skipped from 2026-05-01T12:15:00Z`
	if err == nil || err.Error() != want {
		t.Fatalf("publish over a claim 5m ahead: %v\nwant %s", err, want)
	}
	now = now.Add(15 * time.Minute)
	h, err = p.Head(ctx, "shop", "prod")
	if err != nil || h.Next != 3 || len(h.Skipped) != 2 || !strings.HasPrefix(h.Skipped[1].Why, "stale: claimed 10m0s ago") {
		t.Fatalf("head 15 minutes later = %+v, %v", h, err)
	}
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatal(err)
	}
}
