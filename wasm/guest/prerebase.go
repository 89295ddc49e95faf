package main

import (
	"encoding/json"
	"errors"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
)

// Until bundle/envelope has its own JWKS parser and ErrorName.

func parseKeys(jwks []byte) ([]jose.JSONWebKey, error) {
	var s jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &s); err != nil {
		return nil, err
	}
	return s.Keys, nil
}

func keyID(k *jose.JSONWebKey) string { return k.KeyID }

func errorName(err error) string {
	for _, s := range []struct {
		n string
		e error
	}{{"ErrMalformed", envelope.ErrMalformed}, {"ErrDuplicateKey", envelope.ErrDuplicateKey}, {"ErrUnknownField", envelope.ErrUnknownField},
		{"ErrFormatVersion", envelope.ErrFormatVersion}, {"ErrAlgorithm", envelope.ErrAlgorithm}, {"ErrUnknownKey", envelope.ErrUnknownKey},
		{"ErrSignature", envelope.ErrSignature}, {"ErrProject", envelope.ErrProject}, {"ErrEnvironment", envelope.ErrEnvironment},
		{"ErrAudience", envelope.ErrAudience}, {"ErrExpired", envelope.ErrExpired}, {"ErrNotYetValid", envelope.ErrNotYetValid},
		{"ErrRollback", envelope.ErrRollback}, {"ErrTooLarge", envelope.ErrTooLarge}, {"ErrPayload", envelope.ErrPayload}} {
		if errors.Is(err, s.e) {
			return s.n
		}
	}
	return ""
}
