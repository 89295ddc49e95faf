package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Actions recorded in audit records and pointers.
const (
	ActionPublish  = "publish"
	ActionRollback = "rollback"
)

// DefaultStaleAfter is how old an unfinished claim on a version must be
// before Head skips over it (see Publisher.StaleAfter).
const DefaultStaleAfter = 10 * time.Minute

// recordFormat is the format version of pointer and audit JSON objects.
const recordFormat = 1

// Pointer is the content of <project>/<env>/current.json: which version is
// live and the SHA-256 of each of its bundle objects.
type Pointer struct {
	Format      int               `json:"format"`
	Project     string            `json:"project"`
	Environment string            `json:"environment"`
	Version     uint64            `json:"version"`
	Digests     map[string]string `json:"digests"` // audience -> hex SHA-256 of the bundle object
	PublishedAt time.Time         `json:"publishedAt"`
	Actor       string            `json:"actor"`
	Action      string            `json:"action"`
}

// AuditRecord is the content of <project>/<env>/audit/<version>.json, written
// create-only before the version's bundles; it is also the claim on that
// version number.
type AuditRecord struct {
	Format      int               `json:"format"`
	Project     string            `json:"project"`
	Environment string            `json:"environment"`
	Version     uint64            `json:"version"`
	Action      string            `json:"action"`
	From        uint64            `json:"from"`                 // the version live when this one was prepared (0: none)
	RollbackOf  uint64            `json:"rollbackOf,omitempty"` // for rollbacks: the version whose payload was republished
	Actor       string            `json:"actor"`
	Reason      string            `json:"reason,omitempty"`
	At          time.Time         `json:"at"`
	Digests     map[string]string `json:"digests"`
	Summary     []string          `json:"summary,omitempty"`
}

// Abandon is the content of <project>/<env>/abandoned/<version>.json,
// written create-only by a publisher whose publish failed after it had
// claimed the version: Head skips such a claim at once instead of waiting
// until it is stale.
type Abandon struct {
	Format      int       `json:"format"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Version     uint64    `json:"version"`
	Actor       string    `json:"actor"`
	At          time.Time `json:"at"`
	// Error says why the publish failed.
	Error string `json:"error"`
}

// HistoryEntry is an audit record plus whether its version ever went live.
// An unpublished entry is a claim whose publisher failed or crashed before
// it moved the pointer (or one still in progress); Abandoned is set when
// that publisher recorded its failure.
type HistoryEntry struct {
	AuditRecord
	Published bool     `json:"published"`
	Abandoned *Abandon `json:"abandoned,omitempty"`
}

// ConflictError is returned when another publisher took the version this one
// prepared. The caller re-reads the head, re-seals with the new version and
// retries (after re-checking that it still wants to publish).
type ConflictError struct {
	// Version is the version another publisher published (or, when Pending,
	// is publishing).
	Version uint64
	// Pending is true when that version is claimed but not live yet.
	Pending bool
	// Actor and At describe the claim when it is pending; StaleAt is when
	// Head starts skipping it if it never goes live, and Now the clock of
	// the publisher that lost (claims dated after it come from a machine
	// whose clock is ahead).
	Actor   string
	At      time.Time
	StaleAt time.Time
	Now     time.Time
}

// Error returns "retry: someone published version N" (or, for a claim
// still in progress, "retry: someone is publishing version N (...)" with
// when the claim will be skipped should its publisher have died).
func (e *ConflictError) Error() string {
	if !e.Pending {
		return fmt.Sprintf("retry: someone published version %d", e.Version)
	}
	ahead := ""
	if d := e.At.Sub(e.Now); d > 0 {
		ahead = fmt.Sprintf(", %s ahead of this machine's clock", d.Round(time.Second))
	}
	return fmt.Sprintf("retry: someone is publishing version %d (claimed by %q at %s%s); if that publish died, the claim is skipped from %s",
		e.Version, e.Actor, e.At.UTC().Format(time.RFC3339), ahead, e.StaleAt.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrPreconditionFailed) hold.
func (e *ConflictError) Unwrap() error { return blob.ErrPreconditionFailed }

// Publisher implements the publish protocol on a Blob.
type Publisher struct {
	Blob Blob
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StaleAfter is how old a claim (an audit record whose version never
	// went live) must be before Head skips its version; 0 means
	// DefaultStaleAfter. It must exceed the longest publish plus clock skew.
	StaleAfter time.Duration
}

// NewPublisher returns a Publisher with default settings.
func NewPublisher(b Blob) *Publisher { return &Publisher{Blob: b} }

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Publisher) staleAfter() time.Duration {
	if p.StaleAfter > 0 {
		return p.StaleAfter
	}
	return DefaultStaleAfter
}

// Head is the state a publish starts from: the live pointer and the version
// number the next publish must seal its bundles with.
type Head struct {
	Project     string
	Environment string
	// Current is the live version (0: nothing published yet).
	Current uint64
	// Pointer is the live pointer (nil when Current is 0).
	Pointer *Pointer
	// Next is the version to seal into the bundles passed to Publish.
	Next uint64
	// Skipped lists the claims between Current and Next that never went
	// live and are skipped.
	Skipped []Skipped

	etag string // of the pointer; "" when absent
}

// ReadPointer returns an environment's live pointer and its ETag, or an
// error wrapping ErrNotFound when nothing was published.
func (p *Publisher) ReadPointer(ctx context.Context, project, env string) (*Pointer, string, error) {
	if err := checkProjectEnv(project, env); err != nil {
		return nil, "", fmt.Errorf("read pointer: %w", err)
	}
	data, etag, err := p.Blob.Get(ctx, PointerKey(project, env))
	if err != nil {
		return nil, "", fmt.Errorf("read pointer: %w", err)
	}
	ptr, err := decodePointer(data, project, env)
	if err != nil {
		return nil, "", fmt.Errorf("read pointer %s: %w", PointerKey(project, env), err)
	}
	return ptr, etag, nil
}

func decodePointer(data []byte, project, env string) (*Pointer, error) {
	var ptr Pointer
	if err := decodeStrict(data, &ptr); err != nil {
		return nil, err
	}
	if ptr.Format != recordFormat {
		return nil, fmt.Errorf("unknown format %d", ptr.Format)
	}
	if ptr.Project != project || ptr.Environment != env {
		return nil, fmt.Errorf("pointer names %s/%s, want %s/%s", ptr.Project, ptr.Environment, project, env)
	}
	if ptr.Version == 0 || len(ptr.Digests) == 0 {
		return nil, errors.New("pointer without version or digests")
	}
	return &ptr, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode json: %w", err)
	}
	if dec.More() {
		return errors.New("decode json: trailing data")
	}
	return nil
}

// Skipped is a claim Head skipped, and why.
type Skipped struct {
	Version uint64
	Actor   string
	At      time.Time
	// Why is "abandoned: <the publisher's error>", "stale: ..." or
	// "dated in the future: ...".
	Why string
}

// Head reads the live pointer and chooses the next version: Current+1,
// skipping the versions whose claims never went live and whose publisher
// recorded its failure (Abandon), or that are StaleAfter old (the
// publisher died between claiming and going live), or that are dated more
// than StaleAfter ahead of this clock (no live publish is that far ahead;
// a claim dated less far ahead blocks at most until it is StaleAfter old,
// so never longer than twice StaleAfter).
func (p *Publisher) Head(ctx context.Context, project, env string) (Head, error) {
	h := Head{Project: project, Environment: env}
	ptr, etag, err := p.ReadPointer(ctx, project, env)
	switch {
	case err == nil:
		h.Pointer, h.Current, h.etag = ptr, ptr.Version, etag
	case isNotFound(err):
	default:
		return Head{}, fmt.Errorf("read head: %w", err)
	}
	h.Next = h.Current + 1
	for {
		rec, err := p.readAudit(ctx, project, env, h.Next)
		if isNotFound(err) {
			return h, nil
		}
		if err != nil {
			return Head{}, fmt.Errorf("read head: %w", err)
		}
		sk := Skipped{Version: h.Next, Actor: rec.Actor, At: rec.At}
		ab, err := p.readAbandon(ctx, project, env, h.Next)
		switch age, stale := p.now().Sub(rec.At), p.staleAfter(); {
		case err == nil:
			sk.Why = "abandoned: " + ab.Error
		case !isNotFound(err):
			return Head{}, fmt.Errorf("read head: %w", err)
		case age >= stale:
			sk.Why = fmt.Sprintf("stale: claimed %s ago and never went live", age.Round(time.Second))
		case age < -stale:
			sk.Why = fmt.Sprintf("dated in the future: claimed at %s, %s ahead of this machine's clock", rec.At.UTC().Format(time.RFC3339), (-age).Round(time.Second))
		default:
			// A claim in progress: Publish will report the conflict.
			return h, nil
		}
		h.Skipped = append(h.Skipped, sk)
		h.Next++
	}
}

// Request is what Publish writes.
type Request struct {
	// Action is ActionPublish or ActionRollback.
	Action string
	// Bundles maps an audience ("server", "client") to its sealed bundle,
	// sealed with the Head's Next version.
	Bundles map[string][]byte
	// Actor is who publishes (user, CI job); Reason is why (required by
	// the CLI for protected environments, optional here).
	Actor, Reason string
	// Summary is the change summary recorded in the audit record.
	Summary []string
	// RollbackOf is, for rollbacks, the version whose payload is
	// republished.
	RollbackOf uint64
}

// Publish makes the bundles live as version h.Next:
//
//  1. write the audit record create-only (the claim on h.Next);
//  2. write every bundle object create-only;
//  3. swap the pointer with If-Match on the ETag Head read (create-only when
//     nothing was published).
//
// Losing any of these races returns a *ConflictError; nothing another
// publisher wrote is ever overwritten. Versions only grow.
func (p *Publisher) Publish(ctx context.Context, h Head, req Request) (*AuditRecord, error) {
	if err := checkProjectEnv(h.Project, h.Environment); err != nil {
		return nil, fmt.Errorf("publish version %d: %w", h.Next, err)
	}
	if h.Next <= h.Current {
		return nil, fmt.Errorf("publish version %d: does not follow live version %d", h.Next, h.Current)
	}
	switch req.Action {
	case ActionPublish:
		if req.RollbackOf != 0 {
			return nil, fmt.Errorf("publish version %d: rollbackOf set on a publish", h.Next)
		}
	case ActionRollback:
		if req.RollbackOf == 0 || req.RollbackOf >= h.Next {
			return nil, fmt.Errorf("publish version %d: rollback of version %d, want 1..%d", h.Next, req.RollbackOf, h.Next-1)
		}
	default:
		return nil, fmt.Errorf("publish version %d: unknown action %q", h.Next, req.Action)
	}
	if len(req.Bundles) == 0 {
		return nil, fmt.Errorf("publish version %d: no bundles", h.Next)
	}
	if req.Actor == "" {
		return nil, fmt.Errorf("publish version %d: empty actor", h.Next)
	}
	audiences := make([]string, 0, len(req.Bundles))
	digests := make(map[string]string, len(req.Bundles))
	for aud, data := range req.Bundles {
		if err := checkName("audience", aud); err != nil {
			return nil, fmt.Errorf("publish version %d: %w", h.Next, err)
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("publish version %d: empty %s bundle", h.Next, aud)
		}
		audiences = append(audiences, aud)
		digests[aud] = Digest(data)
	}
	sort.Strings(audiences)

	now := p.now()
	rec := &AuditRecord{
		Format: recordFormat, Project: h.Project, Environment: h.Environment,
		Version: h.Next, Action: req.Action, From: h.Current, RollbackOf: req.RollbackOf,
		Actor: req.Actor, Reason: req.Reason, At: now, Digests: digests, Summary: req.Summary,
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("publish version %d: encode audit record: %w", h.Next, err)
	}
	// 1. Claim the version.
	if err := p.Blob.Put(ctx, AuditKey(h.Project, h.Environment, h.Next), append(recJSON, '\n'), blob.IfNoneMatch()); err != nil {
		if errors.Is(err, blob.ErrPreconditionFailed) {
			return nil, p.conflict(ctx, h, h.Next)
		}
		return nil, fmt.Errorf("publish version %d: write audit record: %w", h.Next, err)
	}
	// 2. The immutable bundles.
	for _, aud := range audiences {
		if err := p.Blob.Put(ctx, BundleKey(h.Project, h.Environment, h.Next, aud), req.Bundles[aud], blob.IfNoneMatch()); err != nil {
			return nil, p.abandon(ctx, h, req.Actor, fmt.Errorf("publish version %d: write %s bundle: %w", h.Next, aud, err))
		}
	}
	// 3. Go live.
	ptr := Pointer{
		Format: recordFormat, Project: h.Project, Environment: h.Environment,
		Version: h.Next, Digests: digests, PublishedAt: now, Actor: req.Actor, Action: req.Action,
	}
	ptrJSON, err := json.MarshalIndent(ptr, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("publish version %d: encode pointer: %w", h.Next, err)
	}
	cond := blob.IfNoneMatch()
	if h.etag != "" {
		cond = blob.IfMatch(h.etag)
	}
	for try := 0; ; try++ {
		err := p.Blob.Put(ctx, PointerKey(h.Project, h.Environment), append(ptrJSON, '\n'), cond)
		if err == nil {
			break
		}
		if !errors.Is(err, blob.ErrPreconditionFailed) {
			return nil, p.abandon(ctx, h, req.Actor, fmt.Errorf("publish version %d: write pointer: %w", h.Next, err))
		}
		cur, etag, rerr := p.ReadPointer(ctx, h.Project, h.Environment)
		if rerr == nil && h.Pointer != nil && try < 5 && samePointer(cur, h.Pointer) {
			// The pointer did not move: the ETag Head read was not the
			// one of the content it read (versitygw can return a torn
			// content/ETag pair while the object is being replaced).
			// Versions only grow, so "same content" is the same state:
			// swap against the fresh ETag.
			cond = blob.IfMatch(etag)
			continue
		}
		// Our own claim on h.Next stays behind unpublished (Head skips it
		// once stale); report what is live now.
		ce := &ConflictError{Version: h.Next}
		if rerr == nil {
			ce.Version = cur.Version
		}
		return nil, ce
	}
	return rec, nil
}

// abandon records that this publisher's claim on h.Next will never go live
// because of cause, so that the next Head skips it at once, and returns
// cause with what happened to the claim.
func (p *Publisher) abandon(ctx context.Context, h Head, actor string, cause error) error {
	ab := Abandon{
		Format: recordFormat, Project: h.Project, Environment: h.Environment,
		Version: h.Next, Actor: actor, At: p.now(), Error: cause.Error(),
	}
	data, err := json.MarshalIndent(ab, "", "  ")
	if err == nil {
		err = p.Blob.Put(ctx, AbandonKey(h.Project, h.Environment, h.Next), append(data, '\n'), blob.IfNoneMatch())
	}
	if err != nil {
		return fmt.Errorf("%w (version %d stays claimed and is skipped once %s old: recording the failure failed too: %v)", cause, h.Next, p.staleAfter(), err)
	}
	return fmt.Errorf("%w (version %d was released: the next publish skips it)", cause, h.Next)
}

// readAbandon returns the Abandon record of version v, or an error
// wrapping ErrNotFound.
func (p *Publisher) readAbandon(ctx context.Context, project, env string, v uint64) (*Abandon, error) {
	return readRecord[Abandon](ctx, p.Blob, "abandon record", AbandonKey(project, env, v), project, env, v)
}

// versioned is a per-version record: it names its format, project,
// environment and version, which must be the ones its key says.
type versioned interface {
	ident() (format int, project, env string, version uint64)
}

func (r *AuditRecord) ident() (int, string, string, uint64) {
	return r.Format, r.Project, r.Environment, r.Version
}

func (a *Abandon) ident() (int, string, string, uint64) {
	return a.Format, a.Project, a.Environment, a.Version
}

// readRecord reads and strictly decodes the record at key, checking that
// it is of this format and for project/env version v; a missing record is
// an error wrapping ErrNotFound.
func readRecord[T any, PT interface {
	*T
	versioned
}](ctx context.Context, b Blob, what, key, project, env string, v uint64) (*T, error) {
	data, _, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	rec := PT(new(T))
	if err := decodeStrict(data, rec); err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, key, err)
	}
	if f, prj, e, ver := rec.ident(); f != recordFormat || ver != v || prj != project || e != env {
		return nil, fmt.Errorf("read %s %s: format %d, names %s/%s version %d", what, key, f, prj, e, ver)
	}
	return (*T)(rec), nil
}

// conflict builds the ConflictError for a lost race on version v.
func (p *Publisher) conflict(ctx context.Context, h Head, v uint64) error {
	ce := &ConflictError{Version: v}
	if ptr, _, err := p.ReadPointer(ctx, h.Project, h.Environment); err == nil && ptr.Version >= v {
		ce.Version = ptr.Version
		return ce
	}
	// Not live (yet): describe the claim when it can be read.
	if rec, err := p.readAudit(ctx, h.Project, h.Environment, v); err == nil {
		ce.Pending, ce.Actor, ce.At = true, rec.Actor, rec.At
		ce.StaleAt, ce.Now = rec.At.Add(p.staleAfter()), p.now()
	}
	return ce
}

// Digest is the hex SHA-256 recorded for a bundle object.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (p *Publisher) readAudit(ctx context.Context, project, env string, v uint64) (*AuditRecord, error) {
	return readRecord[AuditRecord](ctx, p.Blob, "audit record", AuditKey(project, env, v), project, env, v)
}

// ReadAudit returns the audit record of one version.
func (p *Publisher) ReadAudit(ctx context.Context, project, env string, version uint64) (*AuditRecord, error) {
	if err := checkProjectEnv(project, env); err != nil {
		return nil, fmt.Errorf("read audit record: %w", err)
	}
	rec, err := p.readAudit(ctx, project, env, version)
	if err != nil {
		return nil, fmt.Errorf("read audit record: %w", err)
	}
	return rec, nil
}

// History returns every audit record of an environment in version order,
// each marked Published when it lies on the chain of From links that leads
// back from the live pointer. ptr is nil when nothing was published.
func (p *Publisher) History(ctx context.Context, project, env string) (ptr *Pointer, entries []HistoryEntry, err error) {
	if err := checkProjectEnv(project, env); err != nil {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	ptr, _, err = p.ReadPointer(ctx, project, env)
	if err != nil && !isNotFound(err) {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	prefix := envPrefix(project, env) + "audit/"
	keys, err := p.Blob.List(ctx, prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	byVersion := map[uint64]int{}
	for _, k := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, prefix), ".json")
		v, perr := strconv.ParseUint(name, 10, 64)
		if perr != nil || len(name) != 20 || !strings.HasSuffix(k, ".json") {
			continue // not an audit record of this layout
		}
		rec, err := p.readAudit(ctx, project, env, v)
		if err != nil {
			return nil, nil, fmt.Errorf("read history: %w", err)
		}
		byVersion[v] = len(entries)
		entries = append(entries, HistoryEntry{AuditRecord: *rec})
	}
	abPrefix := envPrefix(project, env) + "abandoned/"
	abKeys, err := p.Blob.List(ctx, abPrefix)
	if err != nil {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	for _, k := range abKeys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, abPrefix), ".json")
		v, perr := strconv.ParseUint(name, 10, 64)
		i, ok := byVersion[v]
		if perr != nil || len(name) != 20 || !ok {
			continue
		}
		ab, err := p.readAbandon(ctx, project, env, v)
		if err != nil {
			return nil, nil, fmt.Errorf("read history: %w", err)
		}
		entries[i].Abandoned = ab
	}
	if ptr != nil {
		for v := ptr.Version; v != 0; {
			i, ok := byVersion[v]
			if !ok || entries[i].Published {
				break
			}
			entries[i].Published = true
			if entries[i].From >= v {
				break
			}
			v = entries[i].From
		}
	}
	return ptr, entries, nil
}

// Versions returns the published (live at some point) versions, ascending.
func (p *Publisher) Versions(ctx context.Context, project, env string) ([]uint64, error) {
	_, entries, err := p.History(ctx, project, env)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	var vs []uint64
	for _, e := range entries {
		if e.Published {
			vs = append(vs, e.Version)
		}
	}
	return vs, nil
}

// ReadVersion returns the bundle object of one published version and
// audience, checked against the digest in its audit record. A rollback
// opens it, re-seals its payload with Head.Next and publishes that with
// Action ActionRollback and RollbackOf set.
func (p *Publisher) ReadVersion(ctx context.Context, project, env string, version uint64, audience string) ([]byte, error) {
	if err := checkProjectEnv(project, env); err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	if err := checkName("audience", audience); err != nil {
		return nil, fmt.Errorf("read version: %w", err)
	}
	rec, err := p.readAudit(ctx, project, env, version)
	if err != nil {
		return nil, fmt.Errorf("read version %d: %w", version, err)
	}
	want, ok := rec.Digests[audience]
	if !ok {
		return nil, fmt.Errorf("read version %d: no %s bundle: %w", version, audience, blob.ErrNotFound)
	}
	data, _, err := p.Blob.Get(ctx, BundleKey(project, env, version, audience))
	if err != nil {
		return nil, fmt.Errorf("read version %d: %w", version, err)
	}
	if got := Digest(data); got != want {
		return nil, fmt.Errorf("read version %d: %s bundle digest %s, audit record says %s", version, audience, got, want)
	}
	return data, nil
}

func checkProjectEnv(project, env string) error {
	if err := checkName("project", project); err != nil {
		return err
	}
	return checkName("environment", env)
}

// samePointer reports whether two pointers describe the same publish.
func samePointer(a, b *Pointer) bool {
	if a.Version != b.Version || !a.PublishedAt.Equal(b.PublishedAt) || a.Actor != b.Actor || len(a.Digests) != len(b.Digests) {
		return false
	}
	for k, v := range a.Digests {
		if b.Digests[k] != v {
			return false
		}
	}
	return true
}
