package host

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

func nativeTrustOf(t testing.TB, tr Trust, now time.Time) envelope.Trust {
	t.Helper()
	var s jose.JSONWebKeySet
	if err := json.Unmarshal(tr.JWKS, &s); err != nil {
		t.Fatal(err)
	}
	aud, _ := ir.ParseAudience(tr.Audience)
	return envelope.Trust{Keys: s.Keys, Algorithms: tr.Algorithms, Project: tr.Project, Environment: tr.Environment, Audience: aud,
		Now: now, Grace: tr.Grace, MaxSkew: tr.MaxSkew, LastVersion: tr.LastVersion,
		MaxCompressed: tr.MaxCompressed, MaxDecompressed: tr.MaxDecompressed}
}
