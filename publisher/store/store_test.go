package store_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/store/internal/storetest"
)

// childEnv makes the test binary act as a second publishing process.
const childEnv = "EDGEFLAG_STORE_RACE_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(raceChild(spec))
	}
	os.Exit(m.Run())
}

// raceChild runs "dir|env|worker|attempts" publish attempts against a file
// store and prints the outcomes as JSON lines.
func raceChild(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 4 {
		fmt.Fprintln(os.Stderr, "bad child spec", spec)
		return 2
	}
	n, _ := strconv.Atoi(parts[3])
	fs, err := filestore.New(parts[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out, err := storetest.Attempts(context.Background(), store.NewPublisher(fs), "shop", parts[1], parts[2], n)
	enc := json.NewEncoder(os.Stdout)
	for _, o := range out {
		enc.Encode(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func newPublisher(t *testing.T) (*store.Publisher, string) {
	t.Helper()
	dir := t.TempDir()
	fs, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return store.NewPublisher(fs), dir
}

// TestRaceGoroutinesFile: 6 goroutines x 5 attempts on one environment, 20
// rounds; see storetest.CheckRace for what must hold.
func TestRaceGoroutinesFile(t *testing.T) {
	p, _ := newPublisher(t)
	for round := 0; round < 20; round++ {
		env := fmt.Sprintf("race%d", round)
		out := storetest.Race(t, p, "shop", env, 6, 5)
		wins := storetest.CheckRace(t, p, "shop", env, out, 30)
		t.Logf("round %d: %d of 30 attempts won", round, wins)
	}
}

// TestRaceProcessesFile: two separate processes plus goroutines in this one
// publish to the same folder, 20 rounds; flock and link(2) must serialise
// them as well as they serialise goroutines.
func TestRaceProcessesFile(t *testing.T) {
	p, dir := newPublisher(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const attempts = 5
	for round := 0; round < 20; round++ {
		env := fmt.Sprintf("proc%d", round)
		var (
			mu  sync.Mutex
			all []storetest.Outcome
			wg  sync.WaitGroup
		)
		for c := 0; c < 2; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(exe, "-test.run=^$")
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|p%d|%d", childEnv, dir, env, c, attempts))
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Errorf("child %d: %v: %s", c, err, stderr.String())
				}
				sc := bufio.NewScanner(&stdout)
				for sc.Scan() {
					var o storetest.Outcome
					if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
						t.Errorf("child %d output %q: %v", c, sc.Text(), err)
						continue
					}
					mu.Lock()
					all = append(all, o)
					mu.Unlock()
				}
			}()
		}
		local := storetest.Race(t, p, "shop", env, 2, attempts)
		wg.Wait()
		all = append(all, local...)
		wins := storetest.CheckRace(t, p, "shop", env, all, 4*attempts)
		t.Logf("round %d: %d of %d attempts won", round, wins, 4*attempts)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "shop", "*", "*", ".tmp-*"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
}

func TestConflictErrorMessage(t *testing.T) {
	p, _ := newPublisher(t)
	ctx := context.Background()
	h1, err := p.Head(ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	h2 := h1
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("a")}, Actor: "alice"}
	if _, err := p.Publish(ctx, h1, req); err != nil {
		t.Fatal(err)
	}
	req.Actor = "bob"
	_, err = p.Publish(ctx, h2, req)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Version != 1 || ce.Pending {
		t.Fatalf("second publish on the same head: err = %v, want ConflictError{Version: 1}", err)
	}
	if got, want := err.Error(), "retry: someone published version 1"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Error("ConflictError does not match ErrPreconditionFailed")
	}
	// The loser wrote nothing: the live bundle is alice's.
	ptr, _, err := p.ReadPointer(ctx, "shop", "production")
	if err != nil || ptr.Actor != "alice" || ptr.Version != 1 {
		t.Fatalf("pointer %+v, %v; want alice's version 1", ptr, err)
	}
}

// TestStaleClaimSkipped: a claim whose publisher crashed blocks its version
// only until it is StaleAfter old; the crashed publisher, if it comes back,
// loses at the pointer swap.
func TestStaleClaimSkipped(t *testing.T) {
	p, dir := newPublisher(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("v1")}, Actor: "alice"}
	h, _ := p.Head(ctx, "shop", "prod")
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatal(err)
	}
	// A publisher claims version 2 and crashes before its bundles.
	crashed, _ := p.Head(ctx, "shop", "prod")
	fs, _ := filestore.New(dir)
	rec := fmt.Sprintf(`{"format":1,"project":"shop","environment":"prod","version":2,"action":"publish","from":1,"actor":"crasher","at":%q,"digests":{"server":"00"}}`, now.Format(time.RFC3339))
	if err := fs.Put(ctx, store.AuditKey("shop", "prod", 2), []byte(rec), blob.IfNoneMatch()); err != nil {
		t.Fatal(err)
	}
	// Fresh claim: the next publisher is told someone is publishing.
	h, _ = p.Head(ctx, "shop", "prod")
	_, err := p.Publish(ctx, h, req)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || !ce.Pending || ce.Version != 2 || ce.Actor != "crasher" {
		t.Fatalf("publish over a fresh claim: err = %v, want a pending ConflictError on 2 by crasher", err)
	}
	if !strings.HasPrefix(err.Error(), "retry: someone is publishing version 2") {
		t.Errorf("message %q", err)
	}
	// After StaleAfter the claim is skipped: version 3, with a gap at 2.
	now = now.Add(store.DefaultStaleAfter + time.Second)
	h, err = p.Head(ctx, "shop", "prod")
	if err != nil || h.Next != 3 || len(h.Skipped) != 1 || h.Skipped[0].Version != 2 || !strings.HasPrefix(h.Skipped[0].Why, "stale: claimed 10m1s ago") {
		t.Fatalf("head after the claim went stale = %+v, %v; want next 3 skipping 2", h, err)
	}
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatal(err)
	}
	// The crashed publisher, waking up, loses at the pointer.
	crashed.Next = 2
	if _, err := p.Publish(ctx, crashed, store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"client": []byte("x")}, Actor: "crasher"}); err == nil {
		t.Fatal("late publisher of an abandoned claim succeeded")
	}
	vs, err := p.Versions(ctx, "shop", "prod")
	if err != nil || fmt.Sprint(vs) != "[1 3]" {
		t.Fatalf("Versions = %v, %v; want [1 3]", vs, err)
	}
	_, entries, _ := p.History(ctx, "shop", "prod")
	if len(entries) != 3 || entries[1].Published || entries[1].Version != 2 {
		t.Fatalf("history %+v: want version 2 unpublished", entries)
	}
}

func TestRollbackAndHistory(t *testing.T) {
	p, _ := newPublisher(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		h, err := p.Head(ctx, "shop", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if h.Next != uint64(i) || h.Current != uint64(i-1) {
			t.Fatalf("head %+v, want next %d", h, i)
		}
		_, err = p.Publish(ctx, h, store.Request{
			Action: store.ActionPublish, Actor: "ci", Reason: fmt.Sprintf("release %d", i),
			Bundles: map[string][]byte{"server": []byte(fmt.Sprintf("s%d", i)), "client": []byte(fmt.Sprintf("c%d", i))},
			Summary: []string{fmt.Sprintf("change %d", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	old, err := p.ReadVersion(ctx, "shop", "prod", 1, "server")
	if err != nil || string(old) != "s1" {
		t.Fatalf("ReadVersion(1) = %q, %v", old, err)
	}
	if _, err := p.ReadVersion(ctx, "shop", "prod", 1, "edge"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadVersion of a missing audience: %v, want ErrNotFound", err)
	}
	h, _ := p.Head(ctx, "shop", "prod")
	bad := store.Request{Action: store.ActionRollback, RollbackOf: 4, Actor: "ops", Bundles: map[string][]byte{"server": old}}
	if _, err := p.Publish(ctx, h, bad); err == nil {
		t.Error("rollback to a future version accepted")
	}
	rec, err := p.Publish(ctx, h, store.Request{Action: store.ActionRollback, RollbackOf: 1, Actor: "ops", Reason: "bad release", Bundles: map[string][]byte{"server": []byte("s1 resealed as 4")}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 4 || rec.From != 3 || rec.RollbackOf != 1 {
		t.Errorf("rollback record %+v", rec)
	}
	ptr, entries, err := p.History(ctx, "shop", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if ptr.Version != 4 || ptr.Action != store.ActionRollback || ptr.Digests["server"] != store.Digest([]byte("s1 resealed as 4")) {
		t.Errorf("pointer after rollback %+v", ptr)
	}
	if len(entries) != 4 {
		t.Fatalf("%d history entries, want 4", len(entries))
	}
	for i, e := range entries {
		if !e.Published || e.Version != uint64(i+1) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if entries[1].Reason != "release 2" || entries[1].Summary[0] != "change 2" || entries[3].Actor != "ops" {
		t.Errorf("audit fields lost: %+v", entries)
	}
}

func TestPublishRejectsBadRequests(t *testing.T) {
	p, _ := newPublisher(t)
	ctx := context.Background()
	h, _ := p.Head(ctx, "shop", "prod")
	ok := map[string][]byte{"server": []byte("x")}
	cases := map[string]store.Request{
		"no bundles":    {Action: store.ActionPublish, Actor: "a"},
		"no actor":      {Action: store.ActionPublish, Bundles: ok},
		"bad action":    {Action: "delete", Bundles: ok, Actor: "a"},
		"bad audience":  {Action: store.ActionPublish, Bundles: map[string][]byte{"../x": []byte("x")}, Actor: "a"},
		"empty bundle":  {Action: store.ActionPublish, Bundles: map[string][]byte{"server": nil}, Actor: "a"},
		"rollback of 0": {Action: store.ActionRollback, Bundles: ok, Actor: "a"},
		"publish w/ rb": {Action: store.ActionPublish, RollbackOf: 1, Bundles: ok, Actor: "a"},
	}
	for name, req := range cases {
		if _, err := p.Publish(ctx, h, req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := p.Head(ctx, "shop", "../prod"); err == nil {
		t.Error("Head accepted a bad environment name")
	}
	back := h
	back.Next = 0
	if _, err := p.Publish(ctx, back, store.Request{Action: store.ActionPublish, Bundles: ok, Actor: "a"}); err == nil {
		t.Error("a version that does not grow was accepted")
	}
	if keys, _ := p.Blob.List(ctx, "shop/"); len(keys) != 0 {
		t.Errorf("rejected requests wrote %v", keys)
	}
}

func TestCorruptPointerRejected(t *testing.T) {
	p, _ := newPublisher(t)
	ctx := context.Background()
	if err := p.Blob.Put(ctx, store.PointerKey("shop", "prod"), []byte(`{"format":1,"project":"other","environment":"prod","version":1,"digests":{"server":"00"}}`), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Head(ctx, "shop", "prod"); err == nil || !strings.Contains(err.Error(), "other/prod") {
		t.Errorf("pointer of another project: err = %v", err)
	}
	p.Blob.Put(ctx, store.PointerKey("shop", "prod"), []byte(`{"format":1,"surprise":true}`), blob.Cond{})
	if _, err := p.Head(ctx, "shop", "prod"); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("pointer with an unknown field: err = %v", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := store.Open(ctx, "file://"+dir+"/sub")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", []byte("v"), blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "sub", "k")); err != nil || string(data) != "v" {
		t.Fatalf("file:// store wrote %q, %v", data, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	if _, err := store.Open(ctx, "s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:1&pathStyle=true"); err != nil {
		t.Errorf("s3 URL: %v", err)
	}
	for _, bad := range []string{"ftp://x/y", "bucket/prefix", "s3://bucket?colour=red", "s3://bucket?pathStyle=maybe", "s3:///prefix", "file://", "file:///x?y=1"} {
		if _, err := store.Open(ctx, bad); err == nil {
			t.Errorf("Open(%q): want an error", bad)
		}
	}
}

// tornBlob returns a wrong ETag for the pointer on its first n reads, as
// versitygw does when a Get races with the object's replacement (observed:
// about 1 in 2000 reads under concurrent writes).
type tornBlob struct {
	store.Blob
	n int
}

func (b *tornBlob) Get(ctx context.Context, key string) ([]byte, string, error) {
	data, etag, err := b.Blob.Get(ctx, key)
	if err == nil && strings.HasSuffix(key, "current.json") && b.n > 0 {
		b.n--
		etag = "torn-" + etag
	}
	return data, etag, err
}

func TestPointerSwapSurvivesTornETag(t *testing.T) {
	p, _ := newPublisher(t)
	ctx := context.Background()
	req := store.Request{Action: store.ActionPublish, Bundles: map[string][]byte{"server": []byte("v1")}, Actor: "a"}
	h, _ := p.Head(ctx, "shop", "prod")
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatal(err)
	}
	p.Blob = &tornBlob{Blob: p.Blob, n: 1}
	h, err := p.Head(ctx, "shop", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, h, req); err != nil {
		t.Fatalf("publish after a torn pointer read: %v", err)
	}
	// A pointer that really moved is still a conflict, even when reads tear.
	stale := h
	p.Blob.(*tornBlob).n = 10
	stale.Next = 3
	_, err = p.Publish(ctx, stale, req)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Version != 2 {
		t.Fatalf("stale head: err = %v, want a conflict naming version 2", err)
	}
}

// BenchmarkPublishFile measures one uncontended publish (head read, audit
// claim, two bundles, pointer swap) on a file store; fsync dominates.
func BenchmarkPublishFile(b *testing.B) {
	dir := b.TempDir()
	fs, err := filestore.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	p := store.NewPublisher(fs)
	ctx := context.Background()
	bundle := bytes.Repeat([]byte("x"), 16<<10)
	for b.Loop() {
		h, err := p.Head(ctx, "shop", "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Publish(ctx, h, store.Request{Action: store.ActionPublish, Actor: "bench", Bundles: map[string][]byte{"server": bundle, "client": bundle}}); err != nil {
			b.Fatal(err)
		}
	}
}
