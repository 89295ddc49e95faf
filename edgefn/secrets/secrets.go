// Package secrets resolves secret references, the only way edgefn takes
// its API keys file and token key: a file path, `ssm:NAME` (an SSM
// Parameter Store SecureString, read with decryption) or
// `secretsmanager:ARN-or-NAME` (a Secrets Manager SecretString). A value
// that looks like the secret itself is refused, so a secret never sits in
// a flag, an environment variable or a template.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SSM is the part of *ssm.Client used here.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManager is the part of *secretsmanager.Client used here.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// maxSecret bounds a secret read from any source.
const maxSecret = 1 << 20

// Resolver resolves references. The client constructors are called only
// for references that need them, so a process that reads files needs no
// AWS configuration.
type Resolver struct {
	SSM            func(ctx context.Context) (SSM, error)
	SecretsManager func(ctx context.Context) (SecretsManager, error)
}

// Resolve returns the secret ref names. private marks a private key: a
// file holding it must not be readable by group or others.
func (r *Resolver) Resolve(ctx context.Context, ref string, private bool) ([]byte, error) {
	switch {
	case ref == "":
		return nil, errors.New("resolve secret: empty reference")
	case looksInline(ref):
		return nil, errors.New("resolve secret: the value looks like the secret itself; give a reference (a file path, ssm:NAME or secretsmanager:ARN), never the secret")
	case strings.HasPrefix(ref, "ssm:"):
		name := strings.TrimPrefix(ref, "ssm:")
		if name == "" || r.SSM == nil {
			return nil, fmt.Errorf("resolve secret %s: no parameter name or no SSM client", ref)
		}
		c, err := r.SSM(ctx)
		if err != nil {
			return nil, fmt.Errorf("resolve secret %s: %w", ref, err)
		}
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("resolve secret %s: %w", ref, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return nil, fmt.Errorf("resolve secret %s: parameter has no value", ref)
		}
		return bounded(ref, []byte(*out.Parameter.Value))
	case strings.HasPrefix(ref, "secretsmanager:"):
		id := strings.TrimPrefix(ref, "secretsmanager:")
		if id == "" || r.SecretsManager == nil {
			return nil, fmt.Errorf("resolve secret %s: no secret id or no Secrets Manager client", ref)
		}
		c, err := r.SecretsManager(ctx)
		if err != nil {
			return nil, fmt.Errorf("resolve secret %s: %w", ref, err)
		}
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("resolve secret %s: %w", ref, err)
		}
		if out.SecretString == nil {
			return nil, fmt.Errorf("resolve secret %s: the secret has no SecretString (binary secrets are not supported)", ref)
		}
		return bounded(ref, []byte(*out.SecretString))
	default:
		return readFile(strings.TrimPrefix(ref, "file:"), private)
	}
}

func bounded(ref string, data []byte) ([]byte, error) {
	if len(data) > maxSecret {
		return nil, fmt.Errorf("resolve secret %s: larger than %d bytes", ref, maxSecret)
	}
	return data, nil
}

// looksInline recognizes the secrets edgefn takes: a JWK or JWKS (JSON), a
// keys file (YAML `keys:`), an API key.
func looksInline(ref string) bool {
	t := strings.TrimSpace(ref)
	return strings.HasPrefix(t, "{") || strings.HasPrefix(t, "keys:") || strings.HasPrefix(t, "efk_") || strings.Contains(t, "\n")
}

func readFile(path string, private bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resolve secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("resolve secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("resolve secret %s: not a regular file", path)
	}
	if private && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("resolve secret %s: mode %04o lets others read a private key; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if err != nil {
		return nil, fmt.Errorf("resolve secret: %w", err)
	}
	return bounded(path, data)
}
