// Package storetest holds the checks every blob.Blob implementation and the
// publish protocol must pass, shared by the file and S3 store tests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Conformance checks Get/Put/List semantics and conditional writes on an
// empty store b; keys are created under prefix.
func Conformance(t *testing.T, b blob.Blob, prefix string) {
	t.Helper()
	ctx := context.Background()
	k := prefix + "/a/obj.json"

	if _, _, err := b.Get(ctx, k); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
	}
	if err := b.Put(ctx, k, []byte("one"), blob.IfMatch("whatever")); !errors.Is(err, blob.ErrPreconditionFailed) {
		t.Fatalf("IfMatch on missing object: err = %v, want ErrPreconditionFailed", err)
	}
	if err := b.Put(ctx, k, []byte("one"), blob.IfNoneMatch()); err != nil {
		t.Fatalf("create-only on missing object: %v", err)
	}
	if err := b.Put(ctx, k, []byte("two"), blob.IfNoneMatch()); !errors.Is(err, blob.ErrPreconditionFailed) {
		t.Fatalf("create-only on existing object: err = %v, want ErrPreconditionFailed", err)
	}
	data, etag1, err := b.Get(ctx, k)
	if err != nil || string(data) != "one" || etag1 == "" {
		t.Fatalf("Get = %q, %q, %v; want \"one\", non-empty etag", data, etag1, err)
	}
	if err := b.Put(ctx, k, []byte("two"), blob.IfMatch(etag1)); err != nil {
		t.Fatalf("IfMatch with current etag: %v", err)
	}
	data, etag2, err := b.Get(ctx, k)
	if err != nil || string(data) != "two" || etag2 == etag1 {
		t.Fatalf("after swap Get = %q, %q, %v; want \"two\" and a new etag", data, etag2, err)
	}
	if err := b.Put(ctx, k, []byte("three"), blob.IfMatch(etag1)); !errors.Is(err, blob.ErrPreconditionFailed) {
		t.Fatalf("IfMatch with stale etag: err = %v, want ErrPreconditionFailed", err)
	}
	if err := b.Put(ctx, k, []byte("four"), blob.Cond{}); err != nil {
		t.Fatalf("unconditional put: %v", err)
	}
	if data, _, _ := b.Get(ctx, k); string(data) != "four" {
		t.Fatalf("after unconditional put Get = %q, want \"four\"", data)
	}
	if err := b.Put(ctx, k, nil, blob.Cond{CreateOnly: true, IfMatch: "x"}); err == nil {
		t.Fatal("both conditions: want an error")
	}
	for _, bad := range []string{"", "/abs", "a//b", "a/../b", "a/.hidden", "a\\b"} {
		if err := b.Put(ctx, bad, []byte("x"), blob.Cond{}); err == nil {
			t.Errorf("Put(%q): want an error for a bad key", bad)
		}
	}
	for _, name := range []string{"a/b/2.json", "a/b/1.json", "a/c.json", "ab.json"} {
		if err := b.Put(ctx, prefix+"/"+name, []byte(name), blob.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.List(ctx, prefix+"/a/b/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{prefix + "/a/b/1.json", prefix + "/a/b/2.json"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List(a/b/) = %v, want %v", got, want)
	}
	got, err = b.List(ctx, prefix+"/a")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{prefix + "/a/b/1.json", prefix + "/a/b/2.json", prefix + "/a/c.json", prefix + "/a/obj.json", prefix + "/ab.json"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List(a) = %v, want %v", got, want)
	}
	if got, err := b.List(ctx, prefix+"/nothing/"); err != nil || len(got) != 0 {
		t.Fatalf("List(nothing/) = %v, %v; want empty", got, err)
	}
}

// Outcome is one publish attempt of a race.
type Outcome struct {
	Worker  string `json:"worker"`
	Version uint64 `json:"version"` // 0 when it lost
	Content string `json:"content"`
	Lost    uint64 `json:"lost"` // the ConflictError's version when it lost
}

// Attempts runs n publish attempts of one worker against project/env and
// returns their outcomes. Each attempt reads the head, "seals" a unique
// payload naming the version and publishes it. Any error other than a
// *store.ConflictError fails the test.
func Attempts(ctx context.Context, p *store.Publisher, project, env, worker string, n int) ([]Outcome, error) {
	var out []Outcome
	for i := 0; i < n; i++ {
		h, err := p.Head(ctx, project, env)
		if err != nil {
			return out, err
		}
		content := fmt.Sprintf("%s/%d/v%d", worker, i, h.Next)
		_, err = p.Publish(ctx, h, store.Request{
			Action:  store.ActionPublish,
			Bundles: map[string][]byte{"server": []byte(content + "/server"), "client": []byte(content + "/client")},
			Actor:   worker,
			Summary: []string{content},
		})
		var ce *store.ConflictError
		switch {
		case err == nil:
			out = append(out, Outcome{Worker: worker, Version: h.Next, Content: content})
		case errors.As(err, &ce):
			if ce.Version < h.Next {
				return out, fmt.Errorf("conflict on version %d reports older version %d", h.Next, ce.Version)
			}
			out = append(out, Outcome{Worker: worker, Content: content, Lost: ce.Version})
		default:
			return out, fmt.Errorf("publish attempt %d of %s: %w", i, worker, err)
		}
	}
	return out, nil
}

// Race runs workers goroutines making attempts publishes each, all started
// together, and returns their outcomes.
func Race(t *testing.T, p *store.Publisher, project, env string, workers, attempts int) []Outcome {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		all  []Outcome
		wg   sync.WaitGroup
		gate = make(chan struct{})
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			out, err := Attempts(ctx, p, project, env, fmt.Sprintf("g%d", w), attempts)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			all = append(all, out...)
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	return all
}

// CheckRace asserts what a race must leave behind: successful versions are
// exactly 1..k, each with the content its winner wrote and a published audit
// record naming it; the pointer is at k; nothing unpublished remains; every
// attempt either won or lost with a conflict naming a version.
func CheckRace(t *testing.T, p *store.Publisher, project, env string, outcomes []Outcome, wantAttempts int) (wins int) {
	t.Helper()
	ctx := context.Background()
	if len(outcomes) != wantAttempts {
		t.Fatalf("%d outcomes, want %d", len(outcomes), wantAttempts)
	}
	var won []Outcome
	for _, o := range outcomes {
		if o.Version != 0 {
			won = append(won, o)
		} else if o.Lost == 0 {
			t.Errorf("attempt %+v neither won nor lost to a version", o)
		}
	}
	sort.Slice(won, func(i, j int) bool { return won[i].Version < won[j].Version })
	if len(won) == 0 {
		t.Fatal("no publish succeeded")
	}
	for i, o := range won {
		if o.Version != uint64(i+1) {
			t.Fatalf("successful versions %v: want exactly 1..%d, no gaps or duplicates", versions(won), len(won))
		}
	}
	ptr, entries, err := p.History(ctx, project, env)
	if err != nil {
		t.Fatal(err)
	}
	if ptr == nil || ptr.Version != uint64(len(won)) {
		t.Fatalf("pointer = %+v, want version %d", ptr, len(won))
	}
	if len(entries) != len(won) {
		t.Fatalf("%d audit records, want %d (one per successful publish)", len(entries), len(won))
	}
	for i, o := range won {
		e := entries[i]
		if e.Version != o.Version || !e.Published || e.Actor != o.Worker || len(e.Summary) != 1 || e.Summary[0] != o.Content {
			t.Errorf("audit record %+v does not match winner %+v", e, o)
		}
		if e.From != o.Version-1 {
			t.Errorf("audit record %d: from %d, want %d", e.Version, e.From, o.Version-1)
		}
		for _, aud := range []string{"client", "server"} {
			data, err := p.ReadVersion(ctx, project, env, o.Version, aud)
			if err != nil {
				t.Fatalf("read version %d: %v", o.Version, err)
			}
			if want := o.Content + "/" + aud; !bytes.Equal(data, []byte(want)) {
				t.Errorf("version %d %s bundle = %q, want %q (the winner's)", o.Version, aud, data, want)
			}
		}
	}
	last := won[len(won)-1]
	if ptr.Actor != last.Worker || ptr.Digests["server"] != store.Digest([]byte(last.Content+"/server")) {
		t.Errorf("pointer %+v does not describe the last winner %+v", ptr, last)
	}
	return len(won)
}

func versions(os []Outcome) []uint64 {
	var v []uint64
	for _, o := range os {
		v = append(v, o.Version)
	}
	return v
}
