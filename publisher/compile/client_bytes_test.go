package compile_test

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// TestClientBundleBytesHoldNoServerData proves, on the bytes a browser would
// download, that a client bundle carries no raw key of any static segment
// and no server-only metadata: not in the IR encoding (the decompressed
// payload), not in the zstd frame and not in the sealed JWS. The server
// bundle of the same environment is checked to contain the raw keys, so the
// search itself is shown to work.
func TestClientBundleBytesHoldNoServerData(t *testing.T) {
	doc, ds := config.Load(filepath.Join("..", "..", "examples", "shop"))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	var secrets []string // raw segment keys and server-only metadata
	for _, s := range doc.Segments {
		secrets = append(secrets, s.Keys...)
	}
	if len(secrets) == 0 {
		t.Fatal("the examples have no static segment keys to check")
	}
	nkeys := len(secrets)
	for _, f := range doc.Flags {
		if f.ClientSide && f.Description != "" {
			secrets = append(secrets, f.Description)
		}
		if f.ClientSide && f.Owner != "" {
			secrets = append(secrets, f.Owner)
		}
	}
	jwk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.Signer(jwk)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKey(signer.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	claims := envelope.Claims{Version: 7, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}

	for _, env := range doc.Environments {
		server, ds := compile.Build(doc, env.Name, ir.AudienceServer)
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		serverIR, err := ir.Encode(server)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(serverIR, []byte(secrets[0])) {
			t.Errorf("%s: server bundle lacks raw key %q: the search cannot find keys", env.Name, secrets[0])
		}

		client, ds := compile.Build(doc, env.Name, ir.AudienceClient)
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		sealed, err := seal.SealBundle(client, claims, signer)
		if err != nil {
			t.Fatal(err)
		}
		v, err := envelope.Verify(sealed, envelope.Trust{
			Keys: []envelope.Key{pub}, Project: "shop", Environment: env.Name,
			Audience: ir.AudienceClient, Now: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(sealed), ".")
		if len(parts) != 3 {
			t.Fatalf("%s: sealed bundle has %d parts", env.Name, len(parts))
		}
		frame, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			what := "raw segment key"
			if i >= nkeys {
				what = "server-only metadata"
			}
			for name, data := range map[string][]byte{"IR payload": v.Payload, "zstd frame": frame, "sealed JWS": sealed} {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s: client %s contains %s %q", env.Name, name, what, s)
				}
			}
		}
	}
}
