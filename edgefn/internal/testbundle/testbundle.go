// Package testbundle builds signed bundles and store contents for edgefn's
// tests from flags-as-code text, through the publisher's own compiler and
// sealer, so tests serve what a real publish would produce. All sealing is
// in this file.
package testbundle

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
	"github.com/edgeflag/edgeflag/publisher/store"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
)

// Flags is a project with a flag of every type, client-side and
// server-only flags, a split and a draft, in environments production and
// staging.
const Flags = `
project: shop
environments: [production, staging]
flags:
  new-checkout:
    type: boolean
    description: Redesigned checkout
    owner: payments
    clientSide: true
    defaultVariant: off
    environments:
      production:
        enabled: true
        rules:
          - name: pro
            when: 'plan == "pro"'
            serve: on
      staging: {enabled: true, default: {serve: on}}
  button-color:
    type: string
    clientSide: true
    variants: {blue: "#1a73e8", green: "#188038"}
    defaultVariant: blue
    environments:
      production:
        enabled: true
        default: {split: {blue: 50, green: 50}}
  retry-limit:
    type: number
    variants: {none: 0, some: 2, half: 2.5}
    defaultVariant: some
    environments:
      production:
        enabled: true
        rules:
          - name: young
            when: 'age < 21'
            serve: none
  banner:
    type: object
    clientSide: true
    variants:
      none: {show: false}
      spring: {show: true, title: Spring sale, discountPercent: 20}
    defaultVariant: none
    environments:
      production:
        enabled: true
        rules:
          - name: spring
            when: 'country == "US"'
            serve: spring
  secret-pricing:
    type: boolean
    description: Server-only flag
    defaultVariant: off
    environments:
      production: {enabled: true, default: {serve: on}}
  draft-flag:
    type: boolean
    status: draft
    clientSide: true
    environments:
      production: {enabled: true, default: {serve: on}}
`

// Key is a signing key and the JWKS that trusts it.
type Key struct {
	Signer seal.Signer
	JWKS   []byte
}

// NewKey makes a fresh Ed25519 signing key.
func NewKey(t testing.TB) Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS([]envelope.Key{pub})
	if err != nil {
		t.Fatal(err)
	}
	return Key{Signer: seal.Signer{KeyID: pub.ID, Key: priv}, JWKS: jwks}
}

// Compile compiles flags-as-code text for env, both audiences.
func Compile(t testing.TB, yaml, env string) (server, client *ir.Bundle) {
	t.Helper()
	doc, ds := config.Parse([]config.File{{Name: "flags.yaml", Data: []byte(yaml)}})
	if ds.HasErrors() {
		t.Fatalf("config: %v", ds.Errors())
	}
	return build(t, doc, env)
}

// CompileDir compiles a flags-as-code directory (examples/shop) for env.
func CompileDir(t testing.TB, dir, env string) (server, client *ir.Bundle) {
	t.Helper()
	doc, ds := config.Load(dir)
	if ds.HasErrors() {
		t.Fatalf("config %s: %v", dir, ds.Errors())
	}
	return build(t, doc, env)
}

func build(t testing.TB, doc *config.Document, env string) (server, client *ir.Bundle) {
	t.Helper()
	var ds config.Diagnostics
	server, ds = compile.Build(doc, env, ir.AudienceServer)
	if ds.HasErrors() {
		t.Fatalf("compile server: %v", ds.Errors())
	}
	client, ds = compile.Build(doc, env, ir.AudienceClient)
	if ds.HasErrors() {
		t.Fatalf("compile client: %v", ds.Errors())
	}
	return server, client
}

// Seal signs b as version v, issued at iat, expiring at exp.
func Seal(t testing.TB, b *ir.Bundle, k Key, v uint64, iat, exp time.Time) []byte {
	t.Helper()
	data, err := seal.SealBundle(b, envelope.Claims{Version: v, IssuedAt: iat, ExpiresAt: exp}, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Pair is a version's server and client bundles.
type Pair struct {
	Version        uint64
	Server, Client []byte
}

// Make compiles yaml for env and seals both audiences as version v, valid
// from iat for ttl.
func Make(t testing.TB, yaml, env string, k Key, v uint64, iat time.Time, ttl time.Duration) Pair {
	t.Helper()
	s, c := Compile(t, yaml, env)
	return SealPair(t, s, c, k, v, iat, ttl)
}

// SealPair seals compiled bundles as version v, valid from iat for ttl.
func SealPair(t testing.TB, s, c *ir.Bundle, k Key, v uint64, iat time.Time, ttl time.Duration) Pair {
	t.Helper()
	return Pair{Version: v, Server: Seal(t, s, k, v, iat, iat.Add(ttl)), Client: Seal(t, c, k, v, iat, iat.Add(ttl))}
}

// Place writes p's bundles and a pointer naming them into b, the way a
// publish leaves the store (without the audit record, which readers do
// not use).
func Place(t testing.TB, b blob.Blob, project, env string, p Pair) {
	t.Helper()
	ctx := context.Background()
	for aud, data := range map[string][]byte{"server": p.Server, "client": p.Client} {
		if err := b.Put(ctx, store.BundleKey(project, env, p.Version, aud), data, blob.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	PutPointer(t, b, project, env, p.Version, map[string]string{"server": store.Digest(p.Server), "client": store.Digest(p.Client)})
}

// PutPointer writes a pointer naming version v with the given digests.
func PutPointer(t testing.TB, b blob.Blob, project, env string, v uint64, digests map[string]string) {
	t.Helper()
	data, err := json.Marshal(store.Pointer{Format: 1, Project: project, Environment: env, Version: v, Digests: digests,
		PublishedAt: time.Unix(1700000000, 0).UTC(), Actor: "test", Action: store.ActionPublish})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(context.Background(), store.PointerKey(project, env), data, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
}
