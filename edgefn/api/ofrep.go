package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/edgefn/auth"
	"github.com/edgeflag/edgeflag/edgefn/source"
)

// view is what one caller may evaluate: API keys the server bundle and
// every flag; client tokens the client bundle, only their granted flags,
// with their subject as targeting key and their attributes over the
// request's.
type view struct {
	b       *source.Bundle
	version uint64
	token   *auth.Token
}

func (h *Handler) viewOf(c *call) view {
	snap := h.cfg.Source.Current()
	if c.principal.Token != nil {
		return view{b: &snap.Client, version: snap.Version, token: c.principal.Token}
	}
	return view{b: &snap.Server, version: snap.Version}
}

// has reports whether the caller may see flag key. An ungranted flag is
// indistinguishable from a missing one.
func (v view) has(key string) bool {
	if _, ok := v.b.Types[key]; !ok {
		return false
	}
	return v.token == nil || v.token.Grants(key)
}

// context applies the token's subject and attributes to a request context
// (a fresh map owned by the request).
func (v view) context(ctx map[string]any) eval.Context {
	if v.token != nil {
		for k, a := range v.token.Attributes {
			ctx[k] = a
		}
		ctx["targetingKey"] = v.token.Subject
	}
	return eval.Context(ctx)
}

func notFound(key string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "flag_not_found", ofrep: codeFlagNotFound,
		msg: fmt.Sprintf("flag %q was not found", truncate(key, MaxFlagKey))}
}

func targetingKey(ctx eval.Context) string {
	s, _ := ctx["targetingKey"].(string)
	return s
}

// ofrepContext reads and decodes an OFREP request body; on failure it
// has answered.
func (h *Handler) ofrepContext(w http.ResponseWriter, r *http.Request, c *call) (map[string]any, bool) {
	body, e := readBody(r)
	if e == nil {
		var raw map[string]any
		if raw, e = decodeOFREP(body); e == nil {
			return raw, true
		}
	}
	h.fail(w, c, e)
	return nil, false
}

// ofrepOne serves POST /ofrep/v1/evaluate/flags/{key}.
func (h *Handler) ofrepOne(w http.ResponseWriter, r *http.Request, c *call) {
	key := c.flagKey
	if e := checkFlagKey(key, "flag key"); e != nil {
		h.fail(w, c, e)
		return
	}
	raw, ok := h.ofrepContext(w, r, c)
	if !ok {
		return
	}
	v := h.viewOf(c)
	if strings.Contains(key, "/") || !v.has(key) {
		h.cfg.Metrics.Evaluation("", "", string(eval.ReasonError))
		h.fail(w, c, notFound(key))
		return
	}
	ctx := v.context(raw)
	res := v.b.Engine.Evaluate(key, ctx, c.now)
	h.cfg.Metrics.Evaluation(res.Key, res.Variant, string(res.Reason))
	h.expose(r, c, RouteOFREP, ctx, v.version, []eval.Result{res}, nil)
	out := appendOFREPSuccess(make([]byte, 0, 256), &res)
	writeBody(w, http.StatusOK, "application/json", append(out, '\n'))
}

// ofrepBulk serves POST /ofrep/v1/evaluate/flags: every flag the caller
// may see, with an ETag computed from the evaluated results (so it changes
// when any result changes, not only with the bundle version). The ETag is
// known before the body is written, so a 304 writes none.
func (h *Handler) ofrepBulk(w http.ResponseWriter, r *http.Request, c *call) {
	if e := onlyParams(r, "flagConfigEtag", "flagConfigLastModified"); e != nil {
		h.fail(w, c, e)
		return
	}
	raw, ok := h.ofrepContext(w, r, c)
	if !ok {
		return
	}
	v := h.viewOf(c)
	ctx := v.context(raw)
	sc := getScratch()
	defer putScratch(sc)
	all := v.b.Engine.EvaluateAll(ctx, c.now, sc.results[:0])
	sc.results = all
	results := all[:0]
	for i := range all {
		if v.token == nil || v.token.Grants(all[i].Key) {
			results = append(results, all[i])
		}
	}
	h.cfg.Metrics.Evaluations(len(results), func(i int) (flag, variant, reason string) {
		return results[i].Key, results[i].Variant, string(results[i].Reason)
	})
	sc.exposures = h.expose(r, c, RouteOFREPBulk, ctx, v.version, results, sc.exposures)
	var etag string
	etag, sc.buf = bulkETag(sc.buf[:0], v.b.ETag, results)
	w.Header().Set("Etag", etag) // ETag, canonical form
	w.Header().Set("Cache-Control", "private, no-cache")
	if etagMatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	out := sc.buf[:0]
	out = append(out, `{"flags":[`...)
	for i := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendOFREPSuccess(out, &results[i])
	}
	out = append(out, `],"metadata":{"version":`...)
	out = strconv.AppendUint(out, v.version, 10)
	out = append(out, "}}\n"...)
	sc.buf = out
	writeBody(w, http.StatusOK, "application/json", out)
}

// bulkETag is the ETag of a bulk answer: a hash of the evaluated bundle's
// ETag and, per result, what decides how the result is written (key,
// variant, reason, rule, error code; the value and metadata follow from
// the bundle and these). Two answers get the same ETag exactly when
// their bodies are the same, at a fraction of the cost of hashing the
// body. It uses buf as scratch and returns it.
func bulkETag(buf []byte, bundleETag string, rs []eval.Result) (string, []byte) {
	field := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	field(bundleETag)
	for i := range rs {
		r := &rs[i]
		field(r.Key)
		field(r.Variant)
		field(string(r.Reason))
		field(r.RuleID)
		field(string(r.ErrorCode))
	}
	sum := sha256.Sum256(buf)
	var q [2 + 32]byte
	q[0], q[len(q)-1] = '"', '"'
	hex.Encode(q[1:33], sum[:16])
	return string(q[:]), buf
}

// scratch holds a bulk answer's buffers between requests.
type scratch struct {
	results   []eval.Result
	exposures []Exposure
	buf       []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooled bounds the buffers kept for reuse (larger ones, from bundles
// of many thousand flags, are left to the collector).
const maxPooled = 1 << 20

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.buf) > maxPooled || cap(sc.results)*int(unsafe.Sizeof(eval.Result{})) > maxPooled ||
		cap(sc.exposures)*int(unsafe.Sizeof(Exposure{})) > maxPooled {
		return
	}
	clear(sc.results[:cap(sc.results)]) // drop references into the bundle
	sc.results = sc.results[:0]
	scratchPool.Put(sc)
}

// etagMatch reports whether If-None-Match names etag (or is "*"). Weak
// comparison, as RFC 9110 prescribes for If-None-Match.
func etagMatch(r *http.Request, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, line := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == want {
				return true
			}
		}
	}
	return false
}

// expose hands the served evaluations to the exposure sink, in buf (a
// reused batch; the sink does not keep it) and returns buf for reuse.
func (h *Handler) expose(r *http.Request, c *call, route string, ctx eval.Context, version uint64, rs []eval.Result, buf []Exposure) []Exposure {
	if h.cfg.Exposures == nil || len(rs) == 0 {
		return buf
	}
	unit := targetingKey(ctx)
	untracked := strings.EqualFold(strings.TrimSpace(r.Header.Get(HeaderExposures)), "off")
	principal := c.principal.ID()
	batch := buf[:0]
	for i := range rs {
		if rs[i].Reason == eval.ReasonError {
			continue
		}
		batch = append(batch, Exposure{Flag: rs[i].Key, Variant: rs[i].Variant, Reason: string(rs[i].Reason), Unit: unit,
			Version: version, Route: route, Principal: principal, Time: c.now, Metadata: rs[i].Metadata, Untracked: untracked})
	}
	h.cfg.Exposures.Exposures(r.Context(), batch)
	clear(batch) // drop references into the bundle
	return batch[:0]
}
