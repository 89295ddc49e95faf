package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client token scopes.
const (
	TokenScopeBootstrap = "bootstrap"
	TokenScopeTrack     = "track"
	TokenScopeEvaluate  = "evaluate"
)

// TokenScopes are the scopes a client token may carry.
var TokenScopes = []string{TokenScopeBootstrap, TokenScopeTrack, TokenScopeEvaluate}

// Token limits.
const (
	// MaxTokenTTL is the longest lifetime of a client token.
	MaxTokenTTL = time.Hour
	// DefaultTokenTTL is used when a request gives none.
	DefaultTokenTTL = 10 * time.Minute
	// TokenLeeway is the clock difference tolerated when checking a
	// token's times (edgefn instances' clocks differ a little).
	TokenLeeway = 30 * time.Second
	// maxToken bounds a token before it is parsed.
	maxToken = 16 << 10
)

// TokenType is the JWS "typ" of client tokens; a token with another typ
// (a values-mode bootstrap, signed by the same key) is refused.
const TokenType = "edgeflag-token+jwt"

// tokenIssuer is the "iss" of every client token.
const tokenIssuer = "edgefn"

// Token is a verified client token.
type Token struct {
	// ID is the token's unique id ("jti"): rate limits are per token.
	ID string
	// Subject is the targeting key of every evaluation the token makes.
	Subject string
	// Project and Environment the token is for.
	Project, Environment string
	// Flags are the granted flag keys; nil grants every client-side flag.
	Flags []string
	// Attributes are server-asserted context attributes; they override
	// what the client sends.
	Attributes map[string]any
	// Scopes the token holds (TokenScopes).
	Scopes []string
	// IssuedAt and ExpiresAt bound the token.
	IssuedAt, ExpiresAt time.Time
	// KeyID is the kid of the key that signed it.
	KeyID string
}

// HasScope reports whether the token holds scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Grants reports whether the token grants flag key.
func (t *Token) Grants(key string) bool { return t.Flags == nil || slices.Contains(t.Flags, key) }

type tokenClaims struct {
	jwt.Claims
	Project     string         `json:"prj"`
	Environment string         `json:"env"`
	Flags       *[]string      `json:"flags,omitempty"`
	Attributes  map[string]any `json:"attrs,omitempty"`
	Scopes      []string       `json:"scp"`
}

// TokenRequest is what a server asks a client token to hold.
type TokenRequest struct {
	Subject    string
	Flags      []string // nil: every client-side flag
	Attributes map[string]any
	Scopes     []string
	TTL        time.Duration // 0: DefaultTokenTTL
}

// Mint signs a client token for project/env at now with the signing key.
// It returns the token and its expiry.
func (t *TokenKeys) Mint(req TokenRequest, project, env string, now time.Time) (string, time.Time, error) {
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		return "", time.Time{}, fmt.Errorf("mint token: lifetime %s outside 1s..%s", ttl, MaxTokenTTL)
	}
	if req.Subject == "" {
		return "", time.Time{}, errors.New("mint token: empty subject")
	}
	if len(req.Scopes) == 0 {
		return "", time.Time{}, errors.New("mint token: no scopes")
	}
	for _, s := range req.Scopes {
		if !slices.Contains(TokenScopes, s) {
			return "", time.Time{}, fmt.Errorf("mint token: unknown scope %q", s)
		}
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("mint token: %w", err)
	}
	now = now.Truncate(time.Second)
	exp := now.Add(ttl)
	c := tokenClaims{
		Claims: jwt.Claims{
			Issuer: tokenIssuer, Subject: req.Subject, ID: base64.RawURLEncoding.EncodeToString(id[:]),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp),
		},
		Project: project, Environment: env, Attributes: req.Attributes, Scopes: req.Scopes,
	}
	if req.Flags != nil {
		fl := slices.Clone(req.Flags)
		c.Flags = &fl
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint token: %w", err)
	}
	tok, err := t.sign(payload, TokenType)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint token: %w", err)
	}
	return tok, exp, nil
}

// ErrInvalidToken is wrapped by every Verify error that makes a token
// unusable anywhere (401): malformed, bad signature, unknown key,
// forbidden algorithm, expired, not yet valid.
var ErrInvalidToken = errors.New("invalid client token")

// ErrOtherEnvironment is wrapped when a valid token is for another project
// or environment than this edgefn serves (403).
var ErrOtherEnvironment = errors.New("client token is for another environment")

// Verify checks a client token: size, compact JWS with one signature,
// alg EdDSA or ES256 only (so `none` and HS256 never verify, whatever key
// they name), typ TokenType, no embedded keys, a kid among the accepted
// keys whose algorithm matches, the signature, issuer, not-before, expiry
// (with TokenLeeway) and a lifetime of at most MaxTokenTTL; then that it is
// for project/env.
func (t *TokenKeys) Verify(token, project, env string, now time.Time) (*Token, error) {
	if len(token) > maxToken {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxToken)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(parsed.Headers) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	h := parsed.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != TokenType {
		return nil, fmt.Errorf("%w: typ %q, want %q", ErrInvalidToken, typ, TokenType)
	}
	if h.JSONWebKey != nil || len(h.ExtraHeaders) != 1 {
		return nil, fmt.Errorf("%w: unexpected header parameters", ErrInvalidToken)
	}
	vk, ok := t.verify[h.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, h.KeyID)
	}
	if h.Algorithm != string(vk.alg) {
		return nil, fmt.Errorf("%w: alg %s does not fit key %q (%s)", ErrInvalidToken, h.Algorithm, h.KeyID, vk.alg)
	}
	var c tokenClaims
	if err := parsed.Claims(vk.pub, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.IssuedAt == nil || c.Expiry == nil || c.NotBefore == nil || c.Subject == "" || c.ID == "" || len(c.Scopes) == 0 {
		return nil, fmt.Errorf("%w: missing claims", ErrInvalidToken)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: tokenIssuer, Time: now}, TokenLeeway); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()) > MaxTokenTTL {
		return nil, fmt.Errorf("%w: lifetime longer than %s", ErrInvalidToken, MaxTokenTTL)
	}
	if c.Project != project || c.Environment != env {
		return nil, fmt.Errorf("%w: token is for %s/%s, this server serves %s/%s", ErrOtherEnvironment, c.Project, c.Environment, project, env)
	}
	out := &Token{
		ID: c.ID, Subject: c.Subject, Project: c.Project, Environment: c.Environment,
		Attributes: c.Attributes, Scopes: c.Scopes,
		IssuedAt: c.IssuedAt.Time(), ExpiresAt: c.Expiry.Time(), KeyID: h.KeyID,
	}
	if c.Flags != nil {
		out.Flags = *c.Flags
		if out.Flags == nil {
			out.Flags = []string{}
		}
	}
	return out, nil
}
