// Package auth authenticates and limits edgefn's callers: server API keys
// from a keys file that holds only SHA-256 hashes, short-lived client
// tokens (JWTs minted by edgefn and signed by its token key), and token
// buckets per credential and route.
package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Scopes a server API key may hold.
const (
	ScopeFlagsRead   = "flags:read"
	ScopeTokensIssue = "tokens:issue"
	ScopeEventsWrite = "events:write"
)

// KeyScopes are the scopes of server API keys, in documentation order.
var KeyScopes = []string{ScopeFlagsRead, ScopeTokensIssue, ScopeEventsWrite}

// APIKeyPrefix starts every API key secret (`edgeflag apikey` makes them);
// a bearer credential with it is an API key, anything else a client token.
const APIKeyPrefix = "efk_"

// maxKeysFile bounds the keys file.
const maxKeysFile = 1 << 20

// APIKey is one entry of the keys file.
type APIKey struct {
	// Name says who uses the key (logs and metrics show it, never the
	// secret).
	Name string
	// Scopes the key holds.
	Scopes []string
	// Projects the key may read; nil means every project.
	Projects []string
	hash     [32]byte
}

// HasScope reports whether the key holds scope.
func (k *APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// AllowsProject reports whether the key may read project.
func (k *APIKey) AllowsProject(project string) bool {
	return k.Projects == nil || slices.Contains(k.Projects, project)
}

// KeySet is a parsed keys file.
type KeySet struct {
	keys []APIKey
}

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

type keysFile struct {
	Keys []keyEntry `yaml:"keys"`
}

type keyEntry struct {
	Name     string    `yaml:"name"`
	SHA256   string    `yaml:"sha256"`
	Scopes   []string  `yaml:"scopes"`
	Projects *[]string `yaml:"projects"`
}

// ParseKeys parses an API keys file (YAML):
//
//	keys:
//	  - name: backend
//	    sha256: <hex SHA-256 of the secret>
//	    scopes: [flags:read, tokens:issue]
//	    projects: [shop]        # optional; absent: every project
//
// Unknown fields, duplicate names or hashes, unknown scopes, an empty scope
// list, an empty projects list and malformed hashes are errors naming the
// entry.
func ParseKeys(data []byte) (*KeySet, error) {
	if len(data) > maxKeysFile {
		return nil, fmt.Errorf("parse API keys: file larger than %d bytes", maxKeysFile)
	}
	var f keysFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse API keys: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("parse API keys: more than one YAML document")
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("parse API keys: no keys (want `keys:` with at least one entry; `edgeflag apikey` makes one)")
	}
	s := &KeySet{}
	names := map[string]bool{}
	hashes := map[[32]byte]string{}
	for i, e := range f.Keys {
		where := fmt.Sprintf("parse API keys: keys[%d]", i)
		if strings.TrimSpace(e.Name) == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		where += fmt.Sprintf(" (%q)", e.Name)
		if names[e.Name] {
			return nil, fmt.Errorf("%s: name appears twice", where)
		}
		names[e.Name] = true
		raw, err := hex.DecodeString(e.SHA256)
		if err != nil || len(raw) != 32 || strings.ToLower(e.SHA256) != e.SHA256 {
			return nil, fmt.Errorf("%s: sha256 must be 64 lower-case hex digits (the hash of the secret, never the secret)", where)
		}
		var h [32]byte
		copy(h[:], raw)
		if other, dup := hashes[h]; dup {
			return nil, fmt.Errorf("%s: same secret hash as %q", where, other)
		}
		hashes[h] = e.Name
		if len(e.Scopes) == 0 {
			return nil, fmt.Errorf("%s: scopes is required (%s)", where, strings.Join(KeyScopes, ", "))
		}
		for _, sc := range e.Scopes {
			if !slices.Contains(KeyScopes, sc) {
				return nil, fmt.Errorf("%s: unknown scope %q (allowed: %s)", where, sc, strings.Join(KeyScopes, ", "))
			}
		}
		k := APIKey{Name: e.Name, Scopes: slices.Clone(e.Scopes), hash: h}
		if e.Projects != nil {
			if len(*e.Projects) == 0 {
				return nil, fmt.Errorf("%s: projects is empty (omit it to allow every project)", where)
			}
			k.Projects = slices.Clone(*e.Projects)
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Lookup finds the key whose hash is the SHA-256 of secret. Every entry is
// compared in constant time, so the time taken does not depend on which
// entry matches or how much of a hash does.
func (s *KeySet) Lookup(secret string) (*APIKey, bool) {
	h := sha256.Sum256([]byte(secret))
	found := -1
	for i := range s.keys {
		if subtle.ConstantTimeCompare(h[:], s.keys[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return &s.keys[found], true
}
