package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/edgeflag/edgeflag/edgefn/auth"
)

// OFREP error codes used in OFREP error bodies.
const (
	codeParseError     = "PARSE_ERROR"
	codeInvalidContext = "INVALID_CONTEXT"
	codeFlagNotFound   = "FLAG_NOT_FOUND"
	codeGeneral        = "GENERAL"
)

// apiError is an answer other than success.
type apiError struct {
	status int
	code   string // machine-readable code of the generic shape
	ofrep  string // OFREP errorCode; "" derives it from status
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

func errInternal(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "internal", msg: msg}
}

func authError(err error) *apiError {
	if errors.Is(err, auth.ErrOtherEnvironment) {
		return &apiError{status: http.StatusForbidden, code: "forbidden", msg: err.Error()}
	}
	return &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: err.Error()}
}

type genericError struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

type ofrepError struct {
	Key          *string `json:"key,omitempty"`
	ErrorCode    string  `json:"errorCode"`
	ErrorDetails string  `json:"errorDetails"`
	RequestID    string  `json:"requestId"`
}

// fail writes e in the shape of the call's route.
func (h *Handler) fail(w http.ResponseWriter, c *call, e *apiError) {
	c.errMsg = e.msg
	hd := w.Header()
	if e.status == http.StatusUnauthorized {
		hd.Set("WWW-Authenticate", `Bearer realm="edgefn"`)
	}
	hd.Del("ETag")
	hd.Set("Cache-Control", "no-store")
	var body any
	if c.route != nil && c.route.ofrep {
		code := e.ofrep
		if code == "" {
			code = codeGeneral
		}
		oe := ofrepError{ErrorCode: code, ErrorDetails: e.msg, RequestID: c.id}
		if c.route.single {
			k := c.flagKey
			if len(k) > MaxFlagKey {
				k = k[:MaxFlagKey]
			}
			oe.Key = &k
		}
		body = oe
	} else {
		body = genericError{Error: e.code, Message: e.msg, RequestID: c.id}
	}
	writeJSON(w, e.status, body)
}

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":"internal","message":"encode answer"}`)
	}
	writeBody(w, status, "application/json", append(data, '\n'))
}

// writeBody writes a whole answer. The Content-Length spares net/http
// the chunked encoding (and its extra writes) of bodies over 2 KiB.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
