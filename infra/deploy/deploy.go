// Package deploy is `make deploy`: it deploys one edgeflag environment to
// AWS with the SAM CLI in two stacks, infra/template.yaml in the home region
// and infra/edge.yaml in us-east-1 (Lambda@Edge functions can only be
// created there), passing the edge stack what it needs from the regional
// one. The plan is pure: commands go through Tools, so a dry run prints
// them and the tests check them without an AWS account.
package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/edgefn/viewer/edgepack"
)

// EdgeRegion is where Lambda@Edge functions and CloudFront's metrics live.
const EdgeRegion = "us-east-1"

// Config is one deployment.
type Config struct {
	Project, Env, Region string
	Root                 string // repository root: templates in Root/infra, packages where they name them
	JWKSFile             string // trusted bundle keys; empty: the stack's KMS key
	AppOrigin            string // your site behind CloudFront; empty: edgefn only
	AlarmEmail           string
	PublisherPrincipal   string
	ReservedConcurrency  int // 0: the template's default
	LogRetentionDays     int // 0: the template's default
	SecretsRevision      int // 0: the template's default; bump to make edgefn reread its secrets
	// EdgeConfig is the edge configuration (docs/edge.md) the viewer
	// package is baked from once the regional stack exists: its bucket's
	// live client bundle and its trusted keys. Empty: the package `make
	// package` built is deployed as it is (it must be for this project and
	// environment).
	EdgeConfig string
}

// Tools runs what a deployment needs from outside: commands (aws, sam) and
// the public JWKS of a KMS key.
type Tools interface {
	// Run runs a command whose output the user should see.
	Run(ctx context.Context, name string, args ...string) error
	// Output runs a command and returns its standard output.
	Output(ctx context.Context, name string, args ...string) ([]byte, error)
	// KMSJWKS returns the JWKS of the public key of a KMS key.
	KMSJWKS(ctx context.Context, region, keyARN string) ([]byte, error)
	// BuildEdge builds the viewer package from an edge configuration
	// (edgepack.Build).
	BuildEdge(ctx context.Context, edgeConfig string, o edgepack.Options) error
}

// ErrNoStack is what StackOutputs returns for a stack that does not exist.
var ErrNoStack = errors.New("stack does not exist")

var (
	projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$`)
	envName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$`)
	regionName  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// StackName is the regional stack's name; the edge stack adds "-edge".
func StackName(project, env string) string { return "edgeflag-" + project + "-" + env }

// AthenaDatabase is the Glue database name for an environment: Glue allows
// only lower-case letters, digits and '_'.
func AthenaDatabase(project, env string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return '_'
		}, s)
	}
	return "edgeflag_" + clean(project) + "_" + clean(env)
}

// SecretParameters are the SSM SecureString parameters edgefn reads.
func SecretParameters(project, env string) []string {
	p := "/edgeflag/" + project + "/" + env + "/"
	return []string{p + "api-keys", p + "token-key"}
}

func (c Config) check() error {
	switch {
	case !projectName.MatchString(c.Project):
		return fmt.Errorf("project %q: 1-24 letters, digits, '-' or '_'", c.Project)
	case !envName.MatchString(c.Env):
		return fmt.Errorf("environment %q: 1-16 letters, digits, '-' or '_'", c.Env)
	case !regionName.MatchString(c.Region):
		return fmt.Errorf("region %q: want an AWS region such as eu-west-1", c.Region)
	case c.ReservedConcurrency < 0 || c.LogRetentionDays < 0 || c.SecretsRevision < 0:
		return errors.New("reserved concurrency, log retention and secrets revision must not be negative")
	}
	need := []string{c.edgefnZip()}
	if c.EdgeConfig == "" { // else the deployment builds it
		need = append(need, c.edgeZip())
	}
	for _, f := range need {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("package %s is missing: run `make package` first", f)
		}
	}
	if c.EdgeConfig == "" {
		b, err := edgepack.ReadBaked(c.edgeZip())
		if err != nil {
			return err
		}
		if b.Project != c.Project || b.Environment != c.Env {
			return fmt.Errorf("%s was built for %s/%s, not %s/%s: give the edge configuration of this environment (make deploy EDGE_CONFIG=FILE, --edge-config)",
				c.edgeZip(), b.Project, b.Environment, c.Project, c.Env)
		}
	}
	return nil
}

// The packages, where the templates' Code properties name them
// (../dist/edgefn.zip and ../edgefn/viewer/dist/edge.zip from infra/).
func (c Config) edgefnZip() string { return filepath.Join(c.Root, "dist", "edgefn.zip") }
func (c Config) edgeZip() string {
	return filepath.Join(c.Root, "edgefn", "viewer", "dist", "edge.zip")
}

// Result is what a deployment made.
type Result struct {
	Regional, Edge map[string]string // stack outputs
}

// Deploy deploys both stacks and returns their outputs.
func Deploy(ctx context.Context, c Config, t Tools) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	for _, name := range SecretParameters(c.Project, c.Env) {
		out, err := t.Output(ctx, "aws", "ssm", "get-parameter", "--region", c.Region, "--name", name,
			"--query", "Parameter.Type", "--output", "text")
		if err != nil {
			return nil, fmt.Errorf("parameter %s (create it as docs/deploy.md shows): %w", name, err)
		}
		if got := strings.TrimSpace(string(out)); got != "SecureString" {
			return nil, fmt.Errorf("parameter %s is a %s; edgefn's secrets must be SecureString", name, got)
		}
	}
	stack := StackName(c.Project, c.Env)
	jwks, err := c.trustedKeys(ctx, t, stack)
	if err != nil {
		return nil, err
	}
	if err := t.Run(ctx, "sam", c.samDeploy(filepath.Join(c.Root, "infra", "template.yaml"), stack, c.Region, c.regionalParams(jwks))...); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", stack, err)
	}
	regional, err := StackOutputs(ctx, t, c.Region, stack)
	if err != nil {
		return nil, err
	}
	if jwks == "" { // first deploy: the key exists now, trust it
		if jwks, err = kmsJWKS(ctx, t, c.Region, regional["KmsKeyArn"]); err != nil {
			return nil, err
		}
		if err := t.Run(ctx, "sam", c.samDeploy(filepath.Join(c.Root, "infra", "template.yaml"), stack, c.Region, c.regionalParams(jwks))...); err != nil {
			return nil, fmt.Errorf("deploy %s with its key trusted: %w", stack, err)
		}
	}
	if c.EdgeConfig != "" {
		if err := c.bakeEdge(ctx, t, regional, jwks); err != nil {
			return nil, err
		}
	}
	edgeSHA, err := fileSHA256(c.edgeZip())
	if err != nil {
		return nil, err
	}
	edgeStack := stack + "-edge"
	edgeParams := [][2]string{
		{"ProjectName", c.Project}, {"EnvironmentName", c.Env},
		{"BucketName", regional["BucketName"]}, {"EdgefnUrlDomain", regional["EdgefnUrlDomain"]},
		{"AppOriginDomain", c.AppOrigin}, {"EdgeCodeSha256", edgeSHA}, {"AlarmEmail", c.AlarmEmail},
	}
	if err := t.Run(ctx, "sam", c.samDeploy(filepath.Join(c.Root, "infra", "edge.yaml"), edgeStack, EdgeRegion, edgeParams)...); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", edgeStack, err)
	}
	edge, err := StackOutputs(ctx, t, EdgeRegion, edgeStack)
	if err != nil {
		return nil, err
	}
	return &Result{Regional: regional, Edge: edge}, nil
}

// bakeEdge rebuilds the viewer package from c.EdgeConfig with what the
// regional stack holds: the live client bundle of its bucket (none yet on
// a first deployment: defaults are served until the next deploy after a
// publish) and the keys edgefn trusts.
func (c Config) bakeEdge(ctx context.Context, t Tools, regional map[string]string, jwks string) error {
	if regional["BucketName"] == "" {
		return errors.New("the regional stack has no BucketName output")
	}
	f, err := os.CreateTemp("", "edgeflag-jwks-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(jwks)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the trusted keys: %w", err)
	}
	o := edgepack.Options{Root: c.Root, Out: c.edgeZip(), Store: EdgeStore(regional["BucketName"], c.Region), JWKS: f.Name(),
		Project: c.Project, Environment: c.Env, AllowMissing: true}
	if err := t.BuildEdge(ctx, c.EdgeConfig, o); err != nil {
		return fmt.Errorf("build the viewer package from %s: %w", c.EdgeConfig, err)
	}
	return nil
}

// EdgeStore is the store URL of a deployed bucket, as the viewer package
// reads it at build time.
func EdgeStore(bucket, region string) string { return "s3://" + bucket + "?region=" + region }

// trustedKeys returns the JWKS edgefn should trust: the --jwks file, else
// the KMS key of an existing stack, else "" (the stack does not exist yet).
func (c Config) trustedKeys(ctx context.Context, t Tools, stack string) (string, error) {
	if c.JWKSFile != "" {
		data, err := os.ReadFile(c.JWKSFile)
		if err != nil {
			return "", err
		}
		return compactJWKS(data)
	}
	out, err := StackOutputs(ctx, t, c.Region, stack)
	if errors.Is(err, ErrNoStack) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return kmsJWKS(ctx, t, c.Region, out["KmsKeyArn"])
}

func kmsJWKS(ctx context.Context, t Tools, region, arn string) (string, error) {
	if arn == "" {
		return "", errors.New("the regional stack has no KmsKeyArn output")
	}
	data, err := t.KMSJWKS(ctx, region, arn)
	if err != nil {
		return "", err
	}
	return compactJWKS(data)
}

// compactJWKS checks a JWKS strictly (public keys, kid = thumbprint) and
// returns it on one line without spaces, as EDGEFN_JWKS takes it.
func compactJWKS(data []byte) (string, error) {
	if _, err := envelope.ParseJWKS(data); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return "", fmt.Errorf("compact JWKS: %w", err)
	}
	return b.String(), nil
}

func (c Config) regionalParams(jwks string) [][2]string {
	p := [][2]string{
		{"ProjectName", c.Project}, {"EnvironmentName", c.Env}, {"BundleJwks", jwks},
		{"AthenaDatabaseName", AthenaDatabase(c.Project, c.Env)},
		{"AlarmEmail", c.AlarmEmail}, {"PublisherPrincipalArn", c.PublisherPrincipal},
	}
	if c.ReservedConcurrency > 0 {
		p = append(p, [2]string{"ReservedConcurrency", strconv.Itoa(c.ReservedConcurrency)})
	}
	if c.LogRetentionDays > 0 {
		p = append(p, [2]string{"LogRetentionDays", strconv.Itoa(c.LogRetentionDays)})
	}
	if c.SecretsRevision > 0 {
		p = append(p, [2]string{"SecretsRevision", strconv.Itoa(c.SecretsRevision)})
	}
	return p
}

// samDeploy is the argument list of one `sam deploy`.
func (c Config) samDeploy(template, stack, region string, params [][2]string) []string {
	return []string{"deploy",
		"--template-file", template,
		"--stack-name", stack,
		"--region", region,
		"--resolve-s3",
		"--s3-prefix", stack,
		"--capabilities", "CAPABILITY_IAM",
		"--no-confirm-changeset",
		"--no-fail-on-empty-changeset",
		"--tags", "edgeflag:project=" + c.Project + " edgeflag:environment=" + c.Env,
		"--parameter-overrides", Overrides(params),
	}
}

// Overrides encodes parameter overrides for `sam deploy
// --parameter-overrides`: "Key=Value" pairs separated by spaces; a value
// with a space or a quote, or an empty one, is written in double quotes
// with its quotes escaped, which the SAM CLI unescapes. Values never hold
// a backslash here (JWKS, names, numbers), so no other escape is needed.
func Overrides(params [][2]string) string {
	parts := make([]string, 0, len(params))
	for _, p := range params {
		v := p[1]
		if v == "" || strings.ContainsAny(v, " \"'") {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		parts = append(parts, p[0]+"="+v)
	}
	return strings.Join(parts, " ")
}

// StackOutputs returns a stack's outputs by key, or ErrNoStack.
func StackOutputs(ctx context.Context, t Tools, region, stack string) (map[string]string, error) {
	out, err := t.Output(ctx, "aws", "cloudformation", "describe-stacks", "--region", region,
		"--stack-name", stack, "--query", "Stacks[0].Outputs", "--output", "json")
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, fmt.Errorf("%s: %w", stack, ErrNoStack)
		}
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	var outs []struct{ OutputKey, OutputValue string }
	if err := json.Unmarshal(out, &outs); err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	m := make(map[string]string, len(outs))
	for _, o := range outs {
		m[o.OutputKey] = o.OutputValue
	}
	return m, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}
