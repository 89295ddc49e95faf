package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// put copies data into a new arena block of in and returns its address.
func put(t *testing.T, in *instance, data string) (uintptr, int32) {
	t.Helper()
	if data == "" {
		return 0, 0
	}
	buf, p := in.mem.alloc(int32(len(data)))
	copy(buf, data)
	return p, int32(len(data))
}

// result is in's last result and whether the call succeeded.
func result(t *testing.T, in *instance, n int32) (string, bool) {
	t.Helper()
	size := n
	if n < 0 {
		size = -n
	}
	if int(size) != len(in.out) {
		t.Fatalf("call returned %d, result holds %d bytes", n, len(in.out))
	}
	return string(in.out), n >= 0
}

// TestInstanceNatively runs the portable part of the module (everything
// the exports call) natively: trust, open, evaluate, evaluate all.
func TestInstanceNatively(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	kid := envelope.Thumbprint(envelope.Key{Algorithm: envelope.AlgEdDSA, Public: pub})
	b := ir.NewBuilder("shop", "production", ir.AudienceServer)
	b.Bundle.Flags = append(b.Bundle.Flags, ir.Flag{Key: "on", Type: ir.TypeBoolean, Enabled: true,
		Variants: []ir.Variant{{Name: "on", Value: []byte("true")}}, Default: ir.Serve{Variant: 0, BucketBy: ir.NoNode}, Salt: "on"})
	enc, err := ir.Encode(b.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	iat := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bundle, err := seal.Seal(enc, envelope.Claims{Project: "shop", Environment: "production", Audience: ir.AudienceServer,
		Version: 4, IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}, seal.Signer{KeyID: kid, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	jwks := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","kid":"` + kid + `"}]}`
	var in instance
	now := iat.Add(time.Minute)

	if out, ok := result(t, &in, in.openAt(t, bundle, now.Unix())); ok || !strings.Contains(out, `"ErrNoTrust"`) {
		t.Fatalf("open before trust: %s", out)
	}
	out, ok := result(t, &in, in.trustDoc(t, `{"jwks":`+jwks+`,"project":"shop","environment":"production","audience":"server","lastVersion":3}`))
	if !ok || out != `{"keys":["`+kid+`"],"algorithms":`+algs()+`}` {
		t.Fatalf("set trust: %s", out)
	}
	out, ok = result(t, &in, in.openAt(t, bundle, now.Unix()))
	want := `{"version":4,"project":"shop","environment":"production","audience":"server","algorithm":"EdDSA","keyId":"` + kid +
		`","issuedAt":1767225600,"expiresAt":1767229200,"flags":1}`
	if !ok || out != want {
		t.Fatalf("open: %s\nwant %s", out, want)
	}
	if in.trust.LastVersion != 4 {
		t.Errorf("last version %d after opening version 4", in.trust.LastVersion)
	}
	kp, kn := put(t, &in, "on")
	cp, cn := put(t, &in, `{"targetingKey":"u"}`)
	for i := 0; i < 2; i++ { // the second time from the caches
		out, ok = result(t, &in, in.evaluate(kp, kn, cp, cn, 0, now.Unix(), 0))
		if !ok || out != `{"key":"on","value":true,"variant":"on","reason":"STATIC","version":4}` {
			t.Fatalf("evaluate: %s", out)
		}
		out, ok = result(t, &in, in.evaluateAll(cp, cn, now.Unix(), 0))
		if !ok || out != `[{"key":"on","value":true,"variant":"on","reason":"STATIC","version":4}]` {
			t.Fatalf("evaluate all: %s", out)
		}
	}
	out, ok = result(t, &in, in.evaluate(kp, kn, cp, cn, int32(ir.TypeString), now.Unix(), 0))
	if !ok || out != `{"key":"on","value":null,"variant":"","reason":"ERROR","errorCode":"TYPE_MISMATCH","version":4}` {
		t.Fatalf("evaluate as string: %s", out)
	}
	mp, mn := put(t, &in, "missing")
	out, ok = result(t, &in, in.evaluate(mp, mn, 0, 0, 0, now.Unix(), 0))
	if !ok || out != `{"key":"missing","value":null,"variant":"","reason":"ERROR","errorCode":"FLAG_NOT_FOUND","version":4}` {
		t.Fatalf("evaluate missing: %s", out)
	}
	// Version 4 again is accepted (equal); the trust's last version is 4 now.
	if _, ok = result(t, &in, in.openAt(t, bundle, now.Unix())); !ok {
		t.Fatal("re-open of the same version refused")
	}
	var e struct{ Error, Message string }
	out, ok = result(t, &in, in.openAt(t, bundle, now.Add(2*time.Hour).Unix()))
	if ok || json.Unmarshal([]byte(out), &e) != nil || e.Error != "ErrExpired" {
		t.Fatalf("open after expiry: %s", out)
	}
	out, ok = result(t, &in, in.evaluate(kp, kn, cp, cn, 0, now.Unix(), 0))
	if !ok || !strings.Contains(out, `"version":4`) {
		t.Fatalf("a refused open replaced the bundle: %s", out)
	}
}

func (in *instance) openAt(t *testing.T, bundle []byte, sec int64) int32 {
	p, n := put(t, in, string(bundle))
	return in.open(p, n, sec, 0)
}

func (in *instance) trustDoc(t *testing.T, doc string) int32 {
	p, n := put(t, in, doc)
	return in.setTrust(p, n)
}

func algs() string {
	b, _ := json.Marshal(envelope.SupportedAlgorithms())
	return string(b)
}
