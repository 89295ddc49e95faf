package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// jwksDoc is a one-key Ed25519 JWKS whose kid is its RFC 7638 thumbprint.
func jwksDoc() (string, string) {
	seed := make([]byte, ed25519.SeedSize)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	return `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"` + kid + `"}]}`, kid
}

func TestParseTrust(t *testing.T) {
	jwks, kid := jwksDoc()
	doc := ` { "jwks" : ` + jwks + `, "project":"shop","environment":"prod\u0075ction","audience":"client",
		"grace":86400,"maxSkew":30,"lastVersion":9007199254740991,"algorithms":["EdDSA"],
		"maxCompressed":1000,"maxDecompressed":2000 } `
	tr, terr := parseTrust([]byte(doc))
	if terr != nil {
		t.Fatal(terr)
	}
	if tr.Project != "shop" || tr.Environment != "production" || tr.Audience != ir.AudienceClient ||
		tr.Grace != 24*time.Hour || tr.MaxSkew != 30*time.Second || tr.LastVersion != 1<<53-1 ||
		len(tr.Algorithms) != 1 || tr.Algorithms[0] != "EdDSA" || tr.MaxCompressed != 1000 || tr.MaxDecompressed != 2000 {
		t.Errorf("parseTrust = %+v", tr)
	}
	if len(tr.Keys) != 1 || tr.Keys[0].ID != kid {
		t.Errorf("keys = %+v, want the one key %s", tr.Keys, kid)
	}
	min, terr := parseTrust([]byte(`{"jwks":` + jwks + `,"project":"p","environment":"e","audience":"server"}`))
	if terr != nil || min.Grace != 0 || min.LastVersion != 0 || min.Algorithms != nil || min.MaxCompressed != 0 {
		t.Errorf("minimal trust = %+v, %v", min, terr)
	}
}

func TestParseTrustRefuses(t *testing.T) {
	jwks, _ := jwksDoc()
	base := `"jwks":` + jwks + `,"project":"p","environment":"e","audience":"server"`
	for _, c := range []struct{ doc, name, msg string }{
		{``, "ErrTrust", "unexpected end"},
		{`[]`, "ErrTrust", "not a JSON object"},
		{`{` + base + `,}`, "ErrTrust", "expected object key"},
		{`{` + base + `} x`, "ErrTrust", "trailing data"},
		{`{` + base + `,"project":"q"}`, "ErrTrust", `"project" appears twice`},
		{`{` + base + `,"pr\u006fject":"q"}`, "ErrTrust", `"project" appears twice`},
		{`{` + base + `,"Project":"q"}`, "ErrTrust", `unknown member "Project"`},
		{`{` + base + `,"now":1}`, "ErrTrust", `unknown member "now"`},
		{`{"project":"p","environment":"e","audience":"server"}`, "ErrTrust", "jwks: missing"},
		{`{"jwks":` + jwks + `,"environment":"e","audience":"server"}`, "ErrTrust", "project: missing"},
		{`{"jwks":` + jwks + `,"project":"p","audience":"server"}`, "ErrTrust", "environment: missing"},
		{`{"jwks":` + jwks + `,"project":"p","environment":"e"}`, "ErrTrust", "audience: missing"},
		{`{"jwks":` + jwks + `,"project":"","environment":"e","audience":"server"}`, "ErrTrust", "project: want a non-empty string"},
		{`{"jwks":` + jwks + `,"project":1,"environment":"e","audience":"server"}`, "ErrTrust", "project: want"},
		{`{"jwks":` + jwks + `,"project":"p","environment":"e","audience":"Server"}`, "ErrTrust", "audience"},
		{`{"jwks":1,"project":"p","environment":"e","audience":"server"}`, "ErrTrust", "jwks: want"},
		{`{"jwks":"{}","project":"p","environment":"e","audience":"server"}`, "ErrJWKS", "no keys"},
		{`{` + base + `,"grace":-1}`, "ErrTrust", "grace: want a whole number"},
		{`{` + base + `,"grace":1.5}`, "ErrTrust", "grace: want a whole number"},
		{`{` + base + `,"grace":"60"}`, "ErrTrust", "grace: want a whole number"},
		{`{` + base + `,"grace":1e300}`, "ErrTrust", "grace: want a whole number"},
		{`{` + base + `,"lastVersion":9007199254740992}`, "ErrTrust", "lastVersion: want a whole number"},
		{`{` + base + `,"maxCompressed":0}`, "ErrTrust", "maxCompressed: want a whole number"},
		{`{` + base + `,"algorithms":[]}`, "ErrTrust", "algorithms: want a non-empty array"},
		{`{` + base + `,"algorithms":"EdDSA"}`, "ErrTrust", "algorithms: want a non-empty array"},
		{`{` + base + `,"algorithms":[1]}`, "ErrTrust", "algorithms: want a non-empty array"},
		{`{"jwks":{"keys":"x"},"project":"p","environment":"e","audience":"server"}`, "ErrJWKS", ""},
		{`{` + base + `,"x":"` + strings.Repeat("a", maxTrustDoc) + `"}`, "ErrTrust", "over"},
	} {
		_, terr := parseTrust([]byte(c.doc))
		if terr == nil {
			t.Errorf("parseTrust(%.80s) accepted", c.doc)
			continue
		}
		if terr.name != c.name || !strings.Contains(terr.msg, c.msg) {
			t.Errorf("parseTrust(%.80s) = %s %q, want %s containing %q", c.doc, terr.name, terr.msg, c.name, c.msg)
		}
	}
}

func TestMembers(t *testing.T) {
	doc := []byte(` {"a" : 1 , "b\"}":{"x":[1,"]}",{}]} ,"c":"s\\"} `)
	ms := members(doc)
	want := [][2]string{{`"a"`, `1`}, {`"b\"}"`, `{"x":[1,"]}",{}]}`}, {`"c"`, `"s\\"`}}
	if len(ms) != len(want) {
		t.Fatalf("members = %d, want %d", len(ms), len(want))
	}
	for i, m := range ms {
		if string(m.key) != want[i][0] || string(m.value) != want[i][1] {
			t.Errorf("member %d = %s : %s, want %s : %s", i, m.key, m.value, want[i][0], want[i][1])
		}
	}
}
