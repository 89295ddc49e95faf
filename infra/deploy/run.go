package deploy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/edgefn/viewer/edgepack"
	"github.com/edgeflag/edgeflag/publisher/keys"
	"github.com/edgeflag/edgeflag/publisher/kms"
)

// ErrUsage marks a bad command line (exit 1 rather than 2).
var ErrUsage = errors.New("usage")

// Run is the command `edgeflag-deploy`: it parses args, deploys (or, with
// --dry-run, prints the commands it would run) and prints what to do next.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edgeflag-deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Project, "project", "", "edgeflag project (required)")
	fs.StringVar(&c.Env, "env", "", "environment edgefn serves (required)")
	fs.StringVar(&c.Region, "region", "", "home region of the bucket, key and edgefn (required)")
	fs.StringVar(&c.Root, "root", ".", "repository root")
	fs.StringVar(&c.JWKSFile, "jwks", "", "JWKS edgefn trusts (default: the public key of the stack's KMS key)")
	fs.StringVar(&c.AppOrigin, "app-origin", "", "host name of your site behind CloudFront")
	fs.StringVar(&c.AlarmEmail, "alarm-email", "", "email address for the alarms")
	fs.StringVar(&c.PublisherPrincipal, "publisher-principal", "", "IAM principal ARN that may assume the publisher role")
	fs.IntVar(&c.ReservedConcurrency, "reserved-concurrency", 0, "edgefn reserved concurrency (default: the template's)")
	fs.IntVar(&c.LogRetentionDays, "log-retention-days", 0, "edgefn log retention in days (default: the template's)")
	fs.IntVar(&c.SecretsRevision, "secrets-revision", 0, "bump after changing a secret so every edgefn instance rereads it")
	fs.StringVar(&c.EdgeConfig, "edge-config", "", "edge configuration (docs/edge.md): bake the viewer package from the deployed bucket and keys")
	dry := fs.Bool("dry-run", false, "print the commands instead of running them (no AWS calls)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	var t Tools = execTools{stdout: stdout, stderr: stderr}
	if *dry {
		t = &DryRun{W: stdout}
	}
	res, err := Deploy(ctx, c, t)
	if err != nil {
		return err
	}
	if *dry {
		fmt.Fprintf(stdout, "\ndry run: nothing was deployed; with stand-in values, a deployment of %s/%s ends with:\n", c.Project, c.Env)
	} else {
		fmt.Fprintf(stdout, "\nedgeflag %s/%s deployed.\n", c.Project, c.Env)
	}
	for _, l := range [][2]string{
		{"store", res.Regional["StoreUrl"]},
		{"KMS key", res.Regional["KmsKeyArn"]},
		{"publisher role", res.Regional["PublisherRoleArn"]},
		{"publish", res.Regional["PublishCommand"]},
		{"CloudFront", "https://" + res.Edge["DistributionDomainName"]},
		{"health", res.Edge["HealthUrl"]},
	} {
		fmt.Fprintf(stdout, "  %-15s %s\n", l[0]+":", l[1])
	}
	return nil
}

// execTools runs the real aws and sam commands and asks KMS for keys.
type execTools struct{ stdout, stderr io.Writer }

func (e execTools) Run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	fmt.Fprintln(e.stderr, "+", ShellQuote(append([]string{name}, args...)))
	return cmd.Run()
}

func (e execTools) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args[:2], " "), err, strings.TrimSpace(errb.String()))
	}
	return out, nil
}

func (execTools) KMSJWKS(ctx context.Context, region, keyARN string) ([]byte, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	s, err := kms.New(ctx, awskms.NewFromConfig(cfg), keyARN)
	if err != nil {
		return nil, err
	}
	return publicJWKS(s.Public())
}

func (e execTools) BuildEdge(ctx context.Context, edgeConfig string, o edgepack.Options) error {
	rep, err := edgepack.Build(ctx, edgeConfig, o)
	if rep != nil {
		rep.Print(e.stdout)
	}
	return err
}

func publicJWKS(pub any) ([]byte, error) {
	k, err := keys.PublicKey(pub)
	if err != nil {
		return nil, err
	}
	return keys.MarshalJWKS([]envelope.Key{k})
}

// DryRun prints every command to W instead of running it and answers the
// queries a deployment makes as a first deployment would see them: the
// secrets exist, a stack exists once it has been deployed, and its outputs
// and key are stand-ins of the right shape.
type DryRun struct {
	W        io.Writer
	Commands [][]string // every command, in order
	deployed map[string]bool
}

// Run prints the command.
func (d *DryRun) Run(_ context.Context, name string, args ...string) error {
	d.record(name, args)
	if name == "sam" && len(args) > 0 && args[0] == "deploy" {
		if d.deployed == nil {
			d.deployed = map[string]bool{}
		}
		d.deployed[flagValue(args, "--stack-name")] = true
	}
	return nil
}

// Output prints the command and returns what AWS would.
func (d *DryRun) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	d.record(name, args)
	switch {
	case len(args) > 1 && args[0] == "ssm" && args[1] == "get-parameter":
		return []byte("SecureString\n"), nil
	case len(args) > 1 && args[0] == "cloudformation" && args[1] == "describe-stacks":
		stack, region := flagValue(args, "--stack-name"), flagValue(args, "--region")
		if !d.deployed[stack] {
			return nil, fmt.Errorf("describe-stacks: stack with id %s does not exist", stack)
		}
		return json.Marshal(dryOutputs(stack, region))
	}
	return nil, fmt.Errorf("dry run: no answer for %s %s", name, strings.Join(args, " "))
}

// BuildEdge prints the build it would run and leaves the package as it is.
func (d *DryRun) BuildEdge(_ context.Context, edgeConfig string, o edgepack.Options) error {
	d.record("edgeflag-edge", []string{"--config", edgeConfig, "--out", o.Out, "--store", o.Store, "--jwks", "TRUSTED-JWKS",
		"--project", o.Project, "--env", o.Environment, "--allow-missing-bundle"})
	return nil
}

// KMSJWKS prints the call and returns the JWKS of a fresh P-256 key.
func (d *DryRun) KMSJWKS(_ context.Context, region, keyARN string) ([]byte, error) {
	d.record("kms:GetPublicKey", []string{"--region", region, "--key-id", keyARN})
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return publicJWKS(&k.PublicKey)
}

func (d *DryRun) record(name string, args []string) {
	cmd := append([]string{name}, args...)
	d.Commands = append(d.Commands, cmd)
	fmt.Fprintln(d.W, "+", ShellQuote(cmd))
}

type output struct{ OutputKey, OutputValue string }

func dryOutputs(stack, region string) []output {
	if strings.HasSuffix(stack, "-edge") {
		return []output{
			{"DistributionDomainName", "d111111abcdef8.cloudfront.net"},
			{"HealthUrl", "https://d111111abcdef8.cloudfront.net/healthz"},
		}
	}
	bucket := stack + "-bucket-dryrun"
	key := "arn:aws:kms:" + region + ":123456789012:key/00000000-0000-0000-0000-000000000000"
	return []output{
		{"BucketName", bucket},
		{"StoreUrl", "s3://" + bucket + "?region=" + region},
		{"KmsKeyArn", key},
		{"PublisherRoleArn", "arn:aws:iam::123456789012:role/" + stack + "-PublisherRole-DRYRUN"},
		{"EdgefnUrlDomain", "abcdefghijklmnopqrstuvwxyz012345.lambda-url." + region + ".on.aws"},
		{"PublishCommand", "edgeflag publish ./flags --env ENV --kms-key " + key + " --store 's3://" + bucket + "?region=" + region + "' --reason 'first publish'"},
	}
}

func flagValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// ShellQuote renders a command line that a POSIX shell reads back as the
// same arguments.
func ShellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
