package secrets_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/edgeflag/edgeflag/edgefn/secrets"
)

type fakeSSM struct{ in *ssm.GetParameterInput }

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.in = in
	if aws.ToString(in.Name) == "/missing" {
		return nil, errors.New("ParameterNotFound")
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String("from-ssm:" + aws.ToString(in.Name))}}, nil
}

type fakeSM struct {
	in *secretsmanager.GetSecretValueInput
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.in = in
	if aws.ToString(in.SecretId) == "binary" {
		return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte{1}}, nil
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("from-sm:" + aws.ToString(in.SecretId))}, nil
}

func TestResolve(t *testing.T) {
	s, m := &fakeSSM{}, &fakeSM{}
	made := 0
	r := &secrets.Resolver{
		SSM:            func(context.Context) (secrets.SSM, error) { made++; return s, nil },
		SecretsManager: func(context.Context) (secrets.SecretsManager, error) { made++; return m, nil },
	}
	ctx := context.Background()
	got, err := r.Resolve(ctx, "ssm:/edgefn/token-key", true)
	if err != nil || string(got) != "from-ssm:/edgefn/token-key" || !aws.ToBool(s.in.WithDecryption) {
		t.Fatalf("ssm: %q %v %+v", got, err, s.in)
	}
	got, err = r.Resolve(ctx, "secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:k", false)
	if err != nil || string(got) != "from-sm:arn:aws:secretsmanager:eu-west-1:1:secret:k" {
		t.Fatalf("secretsmanager: %q %v", got, err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "key.jwk")
	if err := os.WriteFile(p, []byte("K"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(ctx, p, true); err != nil || string(got) != "K" {
		t.Fatalf("file: %q %v", got, err)
	}
	if got, err := r.Resolve(ctx, "file:"+p, true); err != nil || string(got) != "K" {
		t.Fatalf("file: prefix: %q %v", got, err)
	}
	os.Chmod(p, 0o644)
	if _, err := r.Resolve(ctx, p, true); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable private key: %v", err)
	}
	if _, err := r.Resolve(ctx, p, false); err != nil {
		t.Fatalf("world-readable keys file (hashes only): %v", err)
	}
	for _, bad := range []string{"", `{"kty":"OKP","d":"x"}`, "keys:\n  - name: a", "efk_secret", "ssm:", "ssm:/missing", "secretsmanager:binary", dir, filepath.Join(dir, "nope")} {
		if _, err := r.Resolve(ctx, bad, false); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}
	if made != 4 {
		t.Errorf("clients made %d times", made)
	}
	if _, err := (&secrets.Resolver{}).Resolve(ctx, "ssm:/x", false); err == nil {
		t.Error("ssm without a client succeeded")
	}
}
