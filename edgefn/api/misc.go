package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/metrics"
)

type tokenAnswer struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

// tokens serves POST /v1/tokens: an API key with tokens:issue mints a
// client token for this environment.
func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, c *call) {
	body, e := readBody(r)
	if e != nil {
		h.fail(w, c, e)
		return
	}
	req, e := decodeTokens(body)
	if e != nil {
		h.fail(w, c, e)
		return
	}
	snap := h.cfg.Source.Current()
	for i, k := range req.Flags {
		if !slices.Contains(snap.Client.Keys, k) {
			msg := fmt.Sprintf("flags[%d]: %q is not a client-side flag of %s/%s", i, k, h.project, h.env)
			if _, server := snap.Server.Types[k]; !server {
				msg = fmt.Sprintf("flags[%d]: no flag %q in %s/%s", i, k, h.project, h.env)
			}
			h.fail(w, c, badRequest("invalid_field", msg))
			return
		}
	}
	tok, exp, err := h.cfg.Auth.Tokens.Mint(*req, h.project, h.env, c.now)
	if err != nil {
		h.fail(w, c, badRequest("invalid_field", err.Error()))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenAnswer{Token: tok, ExpiresAt: exp.UTC().Format(time.RFC3339)})
}

// keys serves GET /v1/keys: the public JWKS of the token keys, which
// verifies client tokens and values-mode bootstraps.
func (h *Handler) keys(w http.ResponseWriter, r *http.Request, c *call) {
	w.Header().Set("Cache-Control", "private, max-age=300")
	writeBody(w, http.StatusOK, "application/jwk-set+json", append(h.cfg.Auth.Tokens.JWKS(), '\n'))
}

// track serves POST /v1/track through Config.Track.
func (h *Handler) track(w http.ResponseWriter, r *http.Request, c *call) {
	if h.cfg.Track == nil {
		h.fail(w, c, &apiError{status: http.StatusNotImplemented, code: "not_implemented",
			msg: "event tracking is not enabled on this edgefn"})
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, c.principal))
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	h.cfg.Track.ServeHTTP(w, r)
}

type healthAnswer struct {
	Status              string  `json:"status"`
	Project             string  `json:"project"`
	Environment         string  `json:"environment"`
	Version             uint64  `json:"version"`
	KeyID               string  `json:"kid"`
	IssuedAt            string  `json:"issuedAt"`
	ExpiresAt           string  `json:"expiresAt"`
	AgeSeconds          float64 `json:"ageSeconds"`
	Origin              string  `json:"origin"`
	LastKnownGood       bool    `json:"lastKnownGood"`
	LastRefresh         string  `json:"lastRefresh,omitempty"`
	LastSuccess         string  `json:"lastSuccess,omitempty"`
	LastFailure         string  `json:"lastFailure,omitempty"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// healthz serves GET /healthz (no credentials): the served bundle's
// version and age and the refresh state. 200 while a valid bundle is
// served (status "ok", or "degraded" when the last refresh failed and the
// last-known-good bundle is served); 503 once it has expired. Failure
// reasons are names, never messages (those can name buckets and paths;
// they are in the logs).
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request, c *call) {
	st := h.cfg.Source.Status()
	a := healthAnswer{
		Status: "ok", Project: h.project, Environment: h.env, Version: st.Version, KeyID: st.KeyID,
		IssuedAt: rfc3339(st.IssuedAt), ExpiresAt: rfc3339(st.ExpiresAt), AgeSeconds: metrics.BundleAge(st, c.now),
		Origin: st.Origin, LastKnownGood: st.LastKnownGood(), LastRefresh: rfc3339(st.LastAttempt),
		LastSuccess: rfc3339(st.LastSuccess), LastFailure: st.LastFailure, ConsecutiveFailures: st.ConsecutiveFailures,
	}
	status := http.StatusOK
	switch {
	case !c.now.Before(st.ExpiresAt):
		a.Status, status = "expired", http.StatusServiceUnavailable
	case st.LastKnownGood():
		a.Status = "degraded"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, a)
}

// metricsText serves GET /metrics (any API key): Prometheus text.
func (h *Handler) metricsText(w http.ResponseWriter, r *http.Request, c *call) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := h.cfg.Metrics.WritePrometheus(w, h.cfg.Source.Status(), c.now); err != nil {
		c.errMsg = "write metrics: " + err.Error()
	}
}

// stream serves GET /v1/stream (serve only): server-sent events, one per
// new bundle version (the first at once), and a comment line as heartbeat.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, c *call) {
	if !h.cfg.Stream {
		h.fail(w, c, &apiError{status: http.StatusNotImplemented, code: "not_implemented",
			msg: "GET /v1/stream needs a long-lived connection, which Lambda does not keep: poll /v1/flags or the OFREP bulk endpoint with If-None-Match"})
		return
	}
	if e := onlyParams(r); e != nil {
		h.fail(w, c, e)
		return
	}
	rc := http.NewResponseController(w)
	if n := h.streams.Add(1); n > MaxStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "30")
		h.fail(w, c, &apiError{status: http.StatusServiceUnavailable, code: "too_many_streams", msg: fmt.Sprintf("more than %d open streams", MaxStreams)})
		return
	}
	defer h.streams.Add(-1)
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	client := c.principal.Token != nil
	var last uint64
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		changed := h.cfg.Source.Changed()
		snap := h.cfg.Source.Current()
		if snap.Version != last {
			last = snap.Version
			etag := snap.Server.ETag
			if client {
				etag = snap.Client.ETag
			}
			ev := make([]byte, 0, 160)
			ev = append(ev, "id: "...)
			ev = strconv.AppendUint(ev, snap.Version, 10)
			ev = append(ev, "\nevent: message\ndata: {\"type\":\"refetchEvaluation\",\"version\":"...)
			ev = strconv.AppendUint(ev, snap.Version, 10)
			ev = append(ev, `,"etag":`...)
			ev = appendString(ev, etag)
			ev = append(ev, `,"lastModified":`...)
			ev = strconv.AppendInt(ev, snap.IssuedAt.Unix(), 10)
			ev = append(ev, "}\n\n"...)
			if _, err := w.Write(ev); err != nil {
				return
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.cfg.Shutdown:
			return
		case <-changed:
		case now := <-tick.C:
			if _, err := fmt.Fprintf(w, ": heartbeat %d\n\n", now.Unix()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return
			}
		}
	}
}
