package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/webhook"
)

// AuditJSON is audit's --json output.
type AuditJSON struct {
	Project     string               `json:"project"`
	Environment string               `json:"environment"`
	Current     uint64               `json:"current"`
	Entries     []store.HistoryEntry `json:"entries"`
	// Webhooks is the recorded delivery state of the project's webhooks.
	Webhooks map[string]webhook.HookState `json:"webhooks"`
}

func (e *Env) audit(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	storeURL := fs.String("store", "", "store `URL`")
	project := fs.String("project", "", "project (`P`)")
	envName := fs.String("env", "", "environment (`ENV`)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	cfgDir := fs.String("config", "", "flags `DIR`: report webhook state against its current webhook config")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return e.usageErr(fs, "unexpected argument %q", pos[0])
	}
	if err := e.requireTarget(fs, *storeURL, *project, *envName); err != nil {
		return err
	}
	blob, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	p := store.NewPublisher(blob)
	p.Now = e.now
	ptr, entries, err := p.History(ctx, *project, *envName)
	if err != nil {
		return err
	}
	hooks, err := e.webhookStates(ctx, blob, *project, *cfgDir)
	if err != nil {
		return err
	}
	out := AuditJSON{Project: *project, Environment: *envName, Entries: entries, Webhooks: hooks}
	if out.Entries == nil {
		out.Entries = []store.HistoryEntry{}
	}
	if ptr != nil {
		out.Current = ptr.Version
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := e.Stdout
	fmt.Fprintf(w, "%s/%s: current version %d, %d audit record(s)\n", *project, *envName, out.Current, len(entries))
	for _, en := range entries {
		status := ""
		if !en.Published {
			status = " [never went live]"
		}
		what := fmt.Sprintf("%d -> %d", en.From, en.Version)
		if en.Action == store.ActionRollback {
			what += fmt.Sprintf(" (rollback to version %d)", en.RollbackOf)
		}
		// Everything but numbers and times comes from the store, which
		// anyone who can publish writes: print it one escaped line each.
		fmt.Fprintf(w, "v%d  %s  %s  %s by %s%s\n", en.Version, en.At.UTC().Format(time.RFC3339), printable(en.Action), what, printable(en.Actor), status)
		if en.Abandoned != nil {
			fmt.Fprintf(w, "    abandoned: %s\n", printable(en.Abandoned.Error))
		}
		if en.Reason != "" {
			fmt.Fprintf(w, "    reason: %s\n", printable(en.Reason))
		}
		for _, aud := range sortedKeys(en.Digests) {
			fmt.Fprintf(w, "    %s sha256 %s\n", printable(aud), printable(en.Digests[aud]))
		}
		if len(en.Summary) == 0 {
			fmt.Fprintln(w, "    (no flag changes)")
		}
		for _, s := range en.Summary {
			fmt.Fprintf(w, "    %s\n", printable(s))
		}
	}
	var disabled []string
	for _, n := range sortedKeys(hooks) {
		if hooks[n].Disabled {
			h := hooks[n]
			disabled = append(disabled, fmt.Sprintf("%s (since %s, %d failures, last error: %s)", printable(n), h.DisabledAt.UTC().Format(time.RFC3339), h.ConsecutiveFailures, printable(h.LastError)))
		}
	}
	if len(disabled) == 0 {
		fmt.Fprintln(w, "webhooks: none disabled")
	} else {
		fmt.Fprintf(w, "webhooks DISABLED: %s\n", strings.Join(disabled, "; "))
	}
	return nil
}

// webhookStates returns the project's webhook delivery state: evaluated
// against the config's hooks when cfgDir is given (a hook whose config
// changed since it was disabled counts as enabled), otherwise as recorded.
func (e *Env) webhookStates(ctx context.Context, blob store.Blob, project, cfgDir string) (map[string]webhook.HookState, error) {
	out := map[string]webhook.HookState{}
	if cfgDir != "" {
		doc, err := e.loadDoc(cfgDir, e.now(), false)
		if err != nil {
			return nil, err
		}
		st := &webhook.State{Blob: blob, Project: project}
		ss, err := st.Statuses(ctx, hooksOf(doc))
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			out[s.Name] = s.HookState
		}
		return out, nil
	}
	data, _, err := blob.Get(ctx, webhook.StateKey(project))
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook state: %w", err)
	}
	var doc struct {
		Webhooks map[string]webhook.HookState `json:"webhooks"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read webhook state %s: %w", webhook.StateKey(project), err)
	}
	for k, v := range doc.Webhooks {
		out[k] = v
	}
	return out, nil
}
