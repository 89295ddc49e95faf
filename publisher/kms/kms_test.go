package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/internal/kmsfake"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/seal"
)

// client returns the real SDK client pointed at the fake.
func client(t *testing.T, srv *kmsfake.Server) *kms.Client {
	t.Helper()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
}

func fakeWithKey(t *testing.T) (*kmsfake.Server, *ecdsa.PrivateKey, string) {
	srv := kmsfake.New()
	t.Cleanup(srv.Close)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	arn := srv.AddKey("1234abcd-12ab-34cd-56ef-1234567890ab", priv)
	return srv, priv, arn
}

func TestSealWithKMS(t *testing.T) {
	srv, priv, arn := fakeWithKey(t)
	s, err := New(context.Background(), client(t, srv), arn)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().(*ecdsa.PublicKey).Equal(&priv.PublicKey) {
		t.Fatal("public key differs from the KMS key")
	}
	jwk, err := keys.PublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	iat := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := envelope.Claims{Project: "shop", Environment: "production", Audience: ir.AudienceClient,
		Version: 42, IssuedAt: iat, ExpiresAt: iat.Add(24 * time.Hour)}
	data, err := seal.Seal([]byte("the IR bytes"), c, seal.Signer{KeyID: jwk.ID, Key: s})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Signs() != 1 {
		t.Fatalf("%d KMS Sign calls, want 1", srv.Signs())
	}
	tr := envelope.Trust{Keys: []envelope.Key{jwk}, Algorithms: []string{envelope.AlgES256},
		Project: "shop", Environment: "production", Audience: ir.AudienceClient, Now: iat.Add(time.Minute)}
	v, err := envelope.Verify(data, tr)
	if err != nil {
		t.Fatal(err)
	}
	if v.Claims.Algorithm != envelope.AlgES256 || v.Claims.Version != 42 || string(v.Payload) != "the IR bytes" {
		t.Fatalf("verified %+v", v.Claims)
	}
	// A verifier that only allows EdDSA refuses it.
	tr.Algorithms = []string{envelope.AlgEdDSA}
	if _, err := envelope.Verify(data, tr); !errors.Is(err, envelope.ErrAlgorithm) {
		t.Fatalf("got %v", err)
	}
}

func TestSignReturnsDER(t *testing.T) {
	srv, priv, arn := fakeWithKey(t)
	s, err := New(context.Background(), client(t, srv), arn)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	der, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&priv.PublicKey, d[:], der) {
		t.Fatal("signature is not a valid DER ECDSA signature")
	}
	if _, err := s.Sign(nil, d[:], crypto.SHA384); err == nil {
		t.Fatal("signed with SHA-384 opts")
	}
	if _, err := s.Sign(nil, d[:16], crypto.SHA256); err == nil {
		t.Fatal("signed a short digest")
	}
}

func TestKMSErrors(t *testing.T) {
	srv, _, arn := fakeWithKey(t)
	c := client(t, srv)
	_, err := New(context.Background(), c, "alias/missing")
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "alias/missing") {
		t.Fatalf("unknown key: %v", err)
	}
	s, err := New(context.Background(), c, arn)
	if err != nil {
		t.Fatal(err)
	}
	srv.Disable(arn)
	d := sha256.Sum256([]byte("m"))
	_, err = s.Sign(nil, d[:], crypto.SHA256)
	var dis *types.DisabledException
	if !errors.As(err, &dis) || !strings.Contains(err.Error(), "KMS sign with "+arn) {
		t.Fatalf("disabled key: %v", err)
	}
	// Through Seal the KMS error is still visible.
	iat := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	_, err = seal.Seal([]byte("x"), envelope.Claims{Project: "p", Environment: "e", Audience: ir.AudienceServer,
		Version: 1, IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}, seal.Signer{KeyID: "k", Key: s})
	if !errors.As(err, &dis) {
		t.Fatalf("seal: %v", err)
	}
}

// stubAPI answers GetPublicKey with a fixed key and Sign with a signature
// from another key, as a mixed-up key id would.
type stubAPI struct {
	pub, other *ecdsa.PrivateKey
	spec       types.KeySpec
}

func (s stubAPI) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	der, err := x509.MarshalPKIXPublicKey(&s.pub.PublicKey)
	if err != nil {
		return nil, err
	}
	return &kms.GetPublicKeyOutput{KeyId: in.KeyId, PublicKey: der, KeySpec: s.spec,
		KeyUsage: types.KeyUsageTypeSignVerify, SigningAlgorithms: []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256}}, nil
}

func (s stubAPI) Sign(ctx context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, s.other, in.Message)
	return &kms.SignOutput{Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, err
}

func TestWrongKeyCaught(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := New(context.Background(), stubAPI{pub: a, other: b, spec: types.KeySpecEccNistP256}, "k")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	if _, err := s.Sign(nil, d[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(context.Background(), stubAPI{pub: a, other: a, spec: types.KeySpecRsa2048}, "k"); err == nil {
		t.Fatal("accepted an RSA key spec")
	}
}
