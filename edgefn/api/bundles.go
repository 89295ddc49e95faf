package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/edgefn/source"
)

// Media type of a compact JWS (RFC 7515 §9.2.1).
const joseType = "application/jose"

// onlyParams rejects query parameters outside allowed.
func onlyParams(r *http.Request, allowed ...string) *apiError {
	for k := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return badRequest("unknown_parameter", fmt.Sprintf("unknown query parameter %q", truncate(k, 64)))
		}
	}
	return nil
}

// serveBundle answers with a signed bundle exactly as published.
func serveBundle(w http.ResponseWriter, r *http.Request, b *source.Bundle, version uint64) {
	hd := w.Header()
	hd.Set("ETag", b.ETag)
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("X-Edgeflag-Version", strconv.FormatUint(version, 10))
	if etagMatch(r, b.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", joseType)
	hd.Set("Content-Length", strconv.Itoa(len(b.Raw)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Raw)
	}
}

// flags serves GET /v1/flags: the signed server bundle (config sync for
// servers and relays that evaluate locally).
func (h *Handler) flags(w http.ResponseWriter, r *http.Request, c *call) {
	if e := onlyParams(r); e != nil {
		h.fail(w, c, e)
		return
	}
	snap := h.cfg.Source.Current()
	serveBundle(w, r, &snap.Server, snap.Version)
}

// bootstrap serves GET /v1/bootstrap for a client token: the signed client
// bundle (mode=bundle, the default), or the token subject's evaluated
// values signed by the token key (mode=values).
func (h *Handler) bootstrap(w http.ResponseWriter, r *http.Request, c *call) {
	if e := onlyParams(r, "mode"); e != nil {
		h.fail(w, c, e)
		return
	}
	snap := h.cfg.Source.Current()
	tok := c.principal.Token
	switch mode := r.URL.Query().Get("mode"); mode {
	case "", "bundle":
		// The bundle is signed by the publisher and holds every
		// client-side flag: it can only go to a token granted all of them.
		if tok.Flags != nil {
			for _, k := range snap.Client.Keys {
				if !tok.Grants(k) {
					h.fail(w, c, &apiError{status: http.StatusForbidden, code: "forbidden",
						msg: "this token grants only some client-side flags and the signed bundle holds them all: use ?mode=values, or mint a token without a flags list"})
					return
				}
			}
		}
		serveBundle(w, r, &snap.Client, snap.Version)
	case "values":
		h.values(w, r, c, snap)
	default:
		h.fail(w, c, badRequest("invalid_parameter", fmt.Sprintf("mode must be bundle or values, not %q", truncate(mode, 32))))
	}
}

// values answers the signed evaluated values of the token's granted flags
// for its subject and attributes.
func (h *Handler) values(w http.ResponseWriter, r *http.Request, c *call, snap *source.Snapshot) {
	tok := c.principal.Token
	ctx := map[string]any{}
	v := view{b: &snap.Client, version: snap.Version, token: tok}
	ectx := v.context(ctx)
	all := snap.Client.Engine.EvaluateAll(ectx, c.now, nil)
	// The part that identifies the answer (ETag) excludes the times.
	flags := make([]byte, 0, 64+len(all)*96)
	flags = append(flags, '{')
	n := 0
	for i := range all {
		res := &all[i]
		if !tok.Grants(res.Key) {
			continue
		}
		if n > 0 {
			flags = append(flags, ',')
		}
		n++
		flags = appendString(flags, res.Key)
		flags = append(flags, `:{"value":`...)
		flags = appendValue(flags, res.Value)
		flags = append(flags, `,"variant":`...)
		flags = appendString(flags, res.Variant)
		flags = append(flags, `,"reason":`...)
		flags = appendString(flags, string(res.Reason))
		if res.RuleID != "" {
			flags = append(flags, `,"ruleId":`...)
			flags = appendString(flags, res.RuleID)
		}
		if res.ErrorCode != eval.CodeNone {
			flags = append(flags, `,"errorCode":`...)
			flags = appendString(flags, string(res.ErrorCode))
		}
		flags = append(flags, '}')
		h.cfg.Metrics.Evaluation(res.Key, res.Variant, string(res.Reason))
	}
	flags = append(flags, '}')
	id := make([]byte, 0, len(flags)+128)
	id = append(id, `{"project":`...)
	id = appendString(id, h.project)
	id = append(id, `,"environment":`...)
	id = appendString(id, h.env)
	id = append(id, `,"version":`...)
	id = strconv.AppendUint(id, snap.Version, 10)
	id = append(id, `,"subject":`...)
	id = appendString(id, tok.Subject)
	id = append(id, `,"flags":`...)
	id = append(id, flags...)
	sum := sha256.Sum256(id)
	etag := `"v-` + hex.EncodeToString(sum[:16]) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("X-Edgeflag-Version", strconv.FormatUint(snap.Version, 10))
	if etagMatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	payload := append(id[:len(id):len(id)], `,"issuedAt":`...)
	payload = strconv.AppendInt(payload, c.now.Unix(), 10)
	payload = append(payload, `,"expiresAt":`...)
	payload = strconv.AppendInt(payload, tok.ExpiresAt.Truncate(time.Second).Unix(), 10)
	payload = append(payload, '}')
	jws, err := h.cfg.Auth.Tokens.SignValues(payload)
	if err != nil {
		h.fail(w, c, errInternal("sign values: "+err.Error()))
		return
	}
	hd.Set("Content-Type", joseType)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(jws))
	}
}
