package envelope

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// MaxHeader is the limit on the decoded protected header, in bytes.
const MaxHeader = 4096

// maxSignature is the decoded signature size of both algorithms.
const maxSignature = 64

// parts is an envelope split into its three base64url parts, checked for
// shape only (steps 1–3 of docs/bundle-format.md §2 apart from the header
// JSON).
type parts struct {
	header, payload, signature []byte
	// input is the signing input: header "." payload.
	input []byte
}

// compactClass classifies every byte value for split: 'a' for the
// base64url alphabet A–Z a–z 0–9 - _, '.' for the separator, 'x' for
// anything else. A string constant, so the package holds no table state.
const compactClass = "" +
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxa.xaaaaaaaaaaxxxxxx" +
	"xaaaaaaaaaaaaaaaaaaaaaaaaaaxxxxaxaaaaaaaaaaaaaaaaaaaaaaaaaaxxxxx" +
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" +
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

// b64 is the canonical unpadded base64url of the profile; Strict rejects
// non-zero unused bits, so every envelope has exactly one encoding.
func b64() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// b64len is the unpadded base64 length of n bytes.
func b64len(n int) int { return (n*8 + 5) / 6 }

// split checks the envelope's overall size against maxCompressed and its
// alphabet, and cuts it into three parts.
func split(data []byte, maxCompressed int) (parts, error) {
	var p parts
	// 1. Overall size.
	if limit := b64len(MaxHeader) + 1 + b64len(maxCompressed) + 1 + b64len(maxSignature); len(data) > limit {
		return p, reject(ErrTooLarge, "envelope is "+strconv.Itoa(len(data))+" bytes, limit is "+strconv.Itoa(limit))
	}
	// 2. Three parts of the base64url alphabet only (a decoder would skip
	// newlines otherwise).
	dots := 0
	for _, c := range data {
		switch compactClass[c] {
		case 'a':
		case '.':
			dots++
		default:
			return p, reject(ErrMalformed, "byte "+strconv.QuoteRune(rune(c))+" is not part of a compact JWS")
		}
	}
	if dots != 2 {
		return p, reject(ErrMalformed, "compact JWS has "+strconv.Itoa(dots+1)+" parts, want 3")
	}
	i := bytes.IndexByte(data, '.')
	j := i + 1 + bytes.IndexByte(data[i+1:], '.')
	p.header, p.payload, p.signature = data[:i], data[i+1:j], data[j+1:]
	p.input = data[:j]
	// 3. Header size.
	if len(p.header) > b64len(MaxHeader) {
		return p, reject(ErrTooLarge, "header is "+strconv.Itoa(len(p.header))+" bytes of base64, limit is "+strconv.Itoa(b64len(MaxHeader)))
	}
	return p, nil
}

func decodeB64(s []byte, part string) ([]byte, error) {
	enc := b64()
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, reject(ErrMalformed, part+" is not canonical unpadded base64url")
	}
	return out[:n], nil
}

// Peek reads an envelope's protected header WITHOUT verifying anything but
// its shape: the same strict parser Verify uses (steps 1–3 of the
// algorithm, with the default compressed-size limit). Nothing it returns is
// trustworthy; tooling uses it to know which project, environment and
// audience to verify a bundle against, and must then call Verify or Open
// with those expectations.
func Peek(data []byte) (Claims, error) {
	p, err := split(data, DefaultMaxCompressed)
	if err != nil {
		return Claims{}, err
	}
	return parseHeaderB64(p.header)
}

func parseHeaderB64(h []byte) (Claims, error) {
	hdr, err := decodeB64(h, "header")
	if err != nil {
		return Claims{}, err
	}
	return parseHeader(hdr)
}

// headerValue is one scanned header member.
type headerValue struct {
	kind jsonKind
	text string
}

// parseHeader decodes the protected header strictly: one flat JSON object
// with exactly the members of this format version, each once, scalar
// values only. The checks run in the order docs/bundle-format.md gives, so
// every runtime reports the same sentinel for the same header.
func parseHeader(hdr []byte) (Claims, error) {
	var c Claims
	if !utf8.Valid(hdr) {
		return c, reject(ErrMalformed, "header is not valid UTF-8")
	}
	s := jsonScanner{data: hdr}
	if s.peek() != '{' {
		return c, reject(ErrMalformed, "header is not a JSON object")
	}
	var names []string
	var values []headerValue
	err := s.object(func(name string) error {
		kind, text, err := s.scalar()
		if err != nil {
			return err
		}
		if kind == jsonObject {
			return reject(ErrMalformed, "header member "+quote(name)+": objects and arrays are not allowed")
		}
		names = append(names, name)
		values = append(values, headerValue{kind, text})
		return nil
	}, func(name string) error {
		return reject(ErrDuplicateKey, "header member "+quote(name)+" appears twice")
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		if _, ok := err.(*jsonError); ok {
			return c, reject(ErrMalformed, "header JSON "+err.Error())
		}
		return c, err
	}
	get := func(name string) (headerValue, bool) {
		for i, n := range names {
			if n == name {
				return values[i], true
			}
		}
		return headerValue{}, false
	}
	// The format version first: a future format may define other members.
	f, present := get(hFmt)
	if !present {
		return c, reject(ErrMalformed, "header member \"fmt\" is missing")
	}
	if n, ok := plainUint(f); !ok || n != FormatVersion {
		return c, reject(ErrFormatVersion, "fmt is "+f.text+", this verifier supports "+strconv.Itoa(FormatVersion))
	}
	c.Format = FormatVersion
	for _, n := range names {
		switch n {
		case hAlg, hKid, hTyp, hFmt, hPrj, hEnv, hAud, hVer, hIat, hExp:
		default:
			return c, reject(ErrUnknownField, "header member "+quote(n)+" is not part of format "+strconv.Itoa(FormatVersion))
		}
	}
	str := func(name string) (string, error) {
		v, ok := get(name)
		if !ok {
			return "", reject(ErrMalformed, "header member "+quote(name)+" is missing")
		}
		if v.kind != jsonString || v.text == "" {
			return "", reject(ErrMalformed, "header member "+quote(name)+" must be a non-empty string")
		}
		return v.text, nil
	}
	num := func(name string) (uint64, error) {
		v, ok := get(name)
		if !ok {
			return 0, reject(ErrMalformed, "header member "+quote(name)+" is missing")
		}
		n, ok := plainUint(v)
		if !ok {
			return 0, reject(ErrMalformed, "header member "+quote(name)+" must be an integer in 0..9007199254740991")
		}
		return n, nil
	}
	typ, err := str(hTyp)
	if err != nil {
		return c, err
	}
	if typ != Type {
		return c, reject(ErrMalformed, "typ is "+quote(typ)+", want "+quote(Type))
	}
	if c.Algorithm, err = str(hAlg); err != nil {
		return c, err
	}
	if c.KeyID, err = str(hKid); err != nil {
		return c, err
	}
	if c.Project, err = str(hPrj); err != nil {
		return c, err
	}
	if c.Environment, err = str(hEnv); err != nil {
		return c, err
	}
	aud, err := str(hAud)
	if err != nil {
		return c, err
	}
	var ok bool
	if c.Audience, ok = ir.ParseAudience(aud); !ok {
		return c, reject(ErrMalformed, "aud is "+quote(aud)+", want \"server\" or \"client\"")
	}
	if c.Version, err = num(hVer); err != nil {
		return c, err
	}
	if c.Version == 0 {
		return c, reject(ErrMalformed, "ver must be at least 1")
	}
	iat, err := num(hIat)
	if err != nil {
		return c, err
	}
	exp, err := num(hExp)
	if err != nil {
		return c, err
	}
	if exp <= iat {
		return c, reject(ErrMalformed, "exp "+strconv.FormatUint(exp, 10)+" is not after iat "+strconv.FormatUint(iat, 10))
	}
	c.IssuedAt = time.Unix(int64(iat), 0).UTC()
	c.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	return c, nil
}

// plainUint reads a JSON number written as plain decimal digits without
// sign, fraction, exponent or leading zeros, at most MaxVersion.
func plainUint(v headerValue) (uint64, bool) {
	s := v.text
	if v.kind != jsonNumber || s == "" || len(s) > 16 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, n <= MaxVersion
}
