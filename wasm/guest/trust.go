package main

import (
	"math"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/internal/jsonscan"
)

// maxTrustDoc bounds the trust document (a JWKS of a few keys and a few
// scalars is well under a kilobyte).
const maxTrustDoc = 1 << 20

// maxSafeInt is the largest integer every JSON parser (JavaScript's
// included) reads exactly: 2^53-1.
const maxSafeInt = 1<<53 - 1

// maxSeconds is the largest whole number of seconds a time.Duration holds.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// trustError is a trust document the module refuses; its name is the
// error result's "error" (ErrTrust, or ErrJWKS for the keys).
type trustError struct {
	name, msg string
}

func (e *trustError) Error() string { return e.msg }

func badTrust(msg string) *trustError {
	return &trustError{name: "ErrTrust", msg: "read trust: " + msg}
}

// parseTrust reads the trust document of ef_set_trust (docs/wasm-abi.md):
// one JSON object with the members jwks (a JWKS object, or its text in a
// string), project, environment, audience (required) and grace, maxSkew,
// lastVersion, algorithms, maxCompressed, maxDecompressed (optional). Unknown or repeated members, wrong types and
// out-of-range numbers are refused; the JWKS is parsed by the verifier's
// own strict parser. The result has no Now: ef_open supplies it.
func parseTrust(doc []byte) (envelope.Trust, *trustError) {
	var t envelope.Trust
	if len(doc) > maxTrustDoc {
		return t, badTrust("document is over " + strconv.Itoa(maxTrustDoc) + " bytes")
	}
	v, err := ir.ParseJSON(doc)
	if err != nil {
		return t, badTrust(err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return t, badTrust("document is not a JSON object")
	}
	var jwks []byte
	seen := map[string]bool{}
	for _, m := range members(doc) {
		k, err := ir.ParseJSON(m.key)
		name, _ := k.(string)
		if err != nil {
			return t, badTrust(err.Error())
		}
		if seen[name] {
			return t, badTrust("member " + strconv.Quote(name) + " appears twice")
		}
		seen[name] = true
		if name == "jwks" {
			jwks = m.value
			if str, ok := obj["jwks"].(string); ok {
				jwks = []byte(str) // the JWKS as text, byte for byte
			}
		}
	}
	for name, val := range obj {
		var terr *trustError
		switch name {
		case "jwks":
			switch val.(type) {
			case map[string]any, string:
			default:
				terr = badTrust("jwks: want a JSON Web Key Set, as an object or as text in a string")
			}
		case "project":
			t.Project, terr = nonEmpty(name, val)
		case "environment":
			t.Environment, terr = nonEmpty(name, val)
		case "audience":
			s, _ := val.(string)
			a, ok := ir.ParseAudience(s)
			if !ok {
				terr = badTrust(`audience: want "server" or "client"`)
			}
			t.Audience = a
		case "grace":
			var n int64
			n, terr = integer(name, val, 0, maxSeconds)
			t.Grace = time.Duration(n) * time.Second
		case "maxSkew":
			var n int64
			n, terr = integer(name, val, 0, maxSeconds)
			t.MaxSkew = time.Duration(n) * time.Second
		case "lastVersion":
			var n int64
			n, terr = integer(name, val, 0, maxSafeInt)
			t.LastVersion = uint64(n)
		case "maxCompressed":
			var n int64
			n, terr = integer(name, val, 1, maxAlloc)
			t.MaxCompressed = int(n)
		case "maxDecompressed":
			var n int64
			n, terr = integer(name, val, 1, math.MaxInt32)
			t.MaxDecompressed = int(n)
		case "algorithms":
			t.Algorithms, terr = algorithms(val)
		default:
			terr = badTrust("unknown member " + strconv.Quote(name))
		}
		if terr != nil {
			return envelope.Trust{}, terr
		}
	}
	for _, req := range [...]string{"jwks", "project", "environment", "audience"} {
		if !seen[req] {
			return envelope.Trust{}, badTrust(req + ": missing")
		}
	}
	keys, err := envelope.ParseJWKS(jwks)
	if err != nil {
		name := envelope.ErrorName(err)
		if name == "" {
			name = "ErrJWKS"
		}
		return envelope.Trust{}, &trustError{name: name, msg: "read trust: " + err.Error()}
	}
	t.Keys = keys
	return t, nil
}

func nonEmpty(name string, v any) (string, *trustError) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", badTrust(name + ": want a non-empty string")
	}
	return s, nil
}

// integer checks that v is a whole JSON number in [lo, hi].
func integer(name string, v any, lo, hi int64) (int64, *trustError) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, badTrust(name + ": want a whole number from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10))
	}
	return int64(f), nil
}

func algorithms(v any) ([]string, *trustError) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil, badTrust("algorithms: want a non-empty array of strings (omit it to allow every algorithm the module verifies)")
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, badTrust("algorithms: want a non-empty array of strings")
		}
		out[i] = s
	}
	return out, nil
}

// member is one top-level member of a JSON object: the raw bytes of its
// key (a JSON string, quotes included) and of its value.
type member struct {
	key, value []byte
}

// members splits a JSON object that ir.ParseJSON has accepted into its
// top-level members, in document order. It relies on that validation: it
// only finds the boundaries of strings, nested values and scalars.
func members(data []byte) []member {
	var out []member
	i := jsonscan.Space(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil
	}
	i++
	for {
		i = jsonscan.Space(data, i)
		if i >= len(data) || data[i] == '}' {
			return out
		}
		if data[i] == ',' {
			i = jsonscan.Space(data, i+1)
		}
		ks := i
		i = skipString(data, i)
		key := data[ks:i]
		i = jsonscan.Space(data, i)
		i = jsonscan.Space(data, i+1) // ':'
		vs := i
		i = skipValue(data, i)
		out = append(out, member{key: key, value: data[vs:i]})
	}
}

// skipString returns the index after the string starting at data[i] ('"'),
// or len(data) when it is not terminated.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
