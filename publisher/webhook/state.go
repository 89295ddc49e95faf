package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Blob is the part of the store the delivery state needs.
type Blob interface {
	Get(ctx context.Context, key string) ([]byte, string, error)
	Put(ctx context.Context, key string, data []byte, cond blob.Cond) error
}

// StateKey is where a project's webhook state lives in the store.
func StateKey(project string) string { return project + "/webhooks.json" }

// State persists per-webhook failure counters of one project, updated by
// compare-and-swap so concurrent publishers do not lose increments.
type State struct {
	Blob    Blob
	Project string
}

// HookState is the persisted state of one webhook.
type HookState struct {
	// Fingerprint of the configuration the counters belong to.
	Fingerprint         string    `json:"fingerprint"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	Disabled            bool      `json:"disabled"`
	DisabledAt          time.Time `json:"disabledAt,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
	LastAttemptAt       time.Time `json:"lastAttemptAt,omitzero"`
	LastSuccessAt       time.Time `json:"lastSuccessAt,omitzero"`
}

type stateDoc struct {
	Format   int                   `json:"format"`
	Webhooks map[string]*HookState `json:"webhooks"`
}

func (s *State) load(ctx context.Context) (*stateDoc, string, error) {
	data, etag, err := s.Blob.Get(ctx, StateKey(s.Project))
	if errors.Is(err, blob.ErrNotFound) {
		return &stateDoc{Format: 1, Webhooks: map[string]*HookState{}}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load webhook state: %w", err)
	}
	var doc stateDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, "", fmt.Errorf("load webhook state %s: %w", StateKey(s.Project), err)
	}
	if doc.Format != 1 {
		return nil, "", fmt.Errorf("load webhook state %s: unknown format %d", StateKey(s.Project), doc.Format)
	}
	if doc.Webhooks == nil {
		doc.Webhooks = map[string]*HookState{}
	}
	return &doc, etag, nil
}

// update applies fn to the state document with compare-and-swap, retrying
// when another writer got in between.
func (s *State) update(ctx context.Context, fn func(*stateDoc)) error {
	for try := 0; try < 20; try++ {
		doc, etag, err := s.load(ctx)
		if err != nil {
			return err
		}
		fn(doc)
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("save webhook state: %w", err)
		}
		cond := blob.IfNoneMatch()
		if etag != "" {
			cond = blob.IfMatch(etag)
		}
		err = s.Blob.Put(ctx, StateKey(s.Project), append(data, '\n'), cond)
		if err == nil {
			return nil
		}
		if !errors.Is(err, blob.ErrPreconditionFailed) {
			return fmt.Errorf("save webhook state: %w", err)
		}
	}
	return errors.New("save webhook state: too much contention")
}

// record counts one delivery outcome for h.
func (s *State) record(ctx context.Context, h Hook, deliveryErr error, now time.Time, disableAfter int) (HookState, error) {
	var out HookState
	err := s.update(ctx, func(doc *stateDoc) {
		hs := doc.Webhooks[h.Name]
		if hs == nil || hs.Fingerprint != h.Fingerprint() {
			hs = &HookState{Fingerprint: h.Fingerprint()}
			doc.Webhooks[h.Name] = hs
		}
		hs.LastAttemptAt = now.UTC()
		if deliveryErr == nil {
			hs.ConsecutiveFailures, hs.Disabled, hs.DisabledAt, hs.LastError = 0, false, time.Time{}, ""
			hs.LastSuccessAt = now.UTC()
		} else {
			hs.ConsecutiveFailures++
			hs.LastError = deliveryErr.Error()
			if hs.ConsecutiveFailures >= disableAfter && !hs.Disabled {
				hs.Disabled, hs.DisabledAt = true, now.UTC()
			}
		}
		out = *hs
	})
	return out, err
}

// Status is what validate and audit report about one configured webhook.
type Status struct {
	Name string
	HookState
}

// Statuses returns the state of each configured hook, in name order. A hook
// whose configuration changed since it was disabled is reported enabled with
// zero failures (Fire will start counting afresh).
func (s *State) Statuses(ctx context.Context, hooks []Hook) ([]Status, error) {
	doc, _, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, h := range hooks {
		st := Status{Name: h.Name, HookState: HookState{Fingerprint: h.Fingerprint()}}
		if hs, ok := doc.Webhooks[h.Name]; ok && hs.Fingerprint == h.Fingerprint() {
			st.HookState = *hs
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Disabled returns the names of the configured hooks that are disabled.
func (s *State) Disabled(ctx context.Context, hooks []Hook) ([]string, error) {
	sts, err := s.Statuses(ctx, hooks)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, st := range sts {
		if st.Disabled {
			names = append(names, st.Name)
		}
	}
	return names, nil
}

// Enable re-enables a hook by hand and resets its failure counter.
func (s *State) Enable(ctx context.Context, name string) error {
	return s.update(ctx, func(doc *stateDoc) {
		if hs := doc.Webhooks[name]; hs != nil {
			hs.ConsecutiveFailures, hs.Disabled, hs.DisabledAt, hs.LastError = 0, false, time.Time{}, ""
		}
	})
}
