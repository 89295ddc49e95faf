package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Principal is an authenticated caller: a server API key or a client
// token (exactly one is set).
type Principal struct {
	Key   *APIKey
	Token *Token
}

// ID identifies the caller for rate limits and logs: "key:NAME" or
// "token:JTI". It never contains a secret.
func (p Principal) ID() string {
	if p.Key != nil {
		return "key:" + p.Key.Name
	}
	return "token:" + p.Token.ID
}

// ErrNoCredentials: the request carries no API key or token (401).
var ErrNoCredentials = errors.New("no credentials: send Authorization: Bearer <API key or client token>, or X-API-Key: <API key>")

// ErrUnknownKey: the API key is not in the keys file (401).
var ErrUnknownKey = errors.New("unknown API key")

// ErrForbidden is wrapped by Authorize errors (403).
var ErrForbidden = errors.New("forbidden")

// Authenticator checks the credentials of requests to one edgefn, which
// serves one project environment.
type Authenticator struct {
	Keys                 *KeySet
	Tokens               *TokenKeys
	Project, Environment string
}

// Authenticate reads the request's credentials: `Authorization: Bearer X`
// (an API key when X starts with APIKeyPrefix, else a client token) or
// `X-API-Key: X`. Two different credentials in one request are refused.
// Errors wrap ErrNoCredentials, ErrUnknownKey, ErrInvalidToken (401) or
// ErrOtherEnvironment (403).
func (a *Authenticator) Authenticate(r *http.Request, now time.Time) (Principal, error) {
	bearer, hasBearer, err := bearerOf(r)
	if err != nil {
		return Principal{}, err
	}
	apiKeys := r.Header.Values("X-Api-Key") // X-API-Key, in canonical form (no allocation per request)
	if len(apiKeys) > 1 {
		return Principal{}, fmt.Errorf("%w: X-API-Key given %d times", ErrUnknownKey, len(apiKeys))
	}
	var cred string
	switch {
	case hasBearer && len(apiKeys) == 1 && apiKeys[0] != bearer:
		return Principal{}, fmt.Errorf("%w: both Authorization and X-API-Key given, with different values", ErrUnknownKey)
	case hasBearer:
		cred = bearer
	case len(apiKeys) == 1:
		cred = strings.TrimSpace(apiKeys[0])
		if !strings.HasPrefix(cred, APIKeyPrefix) {
			return Principal{}, fmt.Errorf("%w: X-API-Key takes an API key (%s...); send client tokens as Authorization: Bearer", ErrUnknownKey, APIKeyPrefix)
		}
	default:
		return Principal{}, ErrNoCredentials
	}
	if strings.HasPrefix(cred, APIKeyPrefix) {
		k, ok := a.Keys.Lookup(cred)
		if !ok {
			return Principal{}, ErrUnknownKey
		}
		return Principal{Key: k}, nil
	}
	t, err := a.Tokens.Verify(cred, a.Project, a.Environment, now)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Token: t}, nil
}

func bearerOf(r *http.Request) (string, bool, error) {
	hs := r.Header.Values("Authorization")
	switch len(hs) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, fmt.Errorf("%w: Authorization given %d times", ErrUnknownKey, len(hs))
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(hs[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return "", false, fmt.Errorf("%w: Authorization must be `Bearer <credential>`", ErrUnknownKey)
	}
	return strings.TrimSpace(cred), true, nil
}

// Need says what a route requires: an API key with KeyScope, or (when
// TokenScope is not empty) a client token with TokenScope.
type Need struct {
	KeyScope   string // "" : any API key
	TokenScope string // "" : client tokens are refused
	AnyToken   bool   // any client token, whatever its scopes
	TokensOnly bool   // API keys are refused
}

// Authorize checks that p may call a route with need for project. Errors
// wrap ErrForbidden.
func Authorize(p Principal, need Need, project string) error {
	if p.Key != nil {
		if need.TokensOnly {
			return fmt.Errorf("%w: this endpoint takes a client token (POST /v1/tokens mints one), not an API key", ErrForbidden)
		}
		if !p.Key.AllowsProject(project) {
			return fmt.Errorf("%w: API key %q may not read project %q", ErrForbidden, p.Key.Name, project)
		}
		if need.KeyScope != "" && !p.Key.HasScope(need.KeyScope) {
			return fmt.Errorf("%w: API key %q lacks scope %s", ErrForbidden, p.Key.Name, need.KeyScope)
		}
		return nil
	}
	if need.AnyToken {
		return nil
	}
	if need.TokenScope == "" {
		return fmt.Errorf("%w: this endpoint takes an API key, not a client token", ErrForbidden)
	}
	if !p.Token.HasScope(need.TokenScope) {
		return fmt.Errorf("%w: client token lacks scope %s", ErrForbidden, need.TokenScope)
	}
	return nil
}
