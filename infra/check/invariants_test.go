package check

import (
	"os"
	"strings"
	"testing"
)

// templates loads the real templates and the deployment docs.
func templates(t *testing.T) (regional, edge *Template, docs []byte) {
	t.Helper()
	var err error
	if regional, err = Load("../template.yaml"); err != nil {
		t.Fatal(err)
	}
	if edge, err = Load("../edge.yaml"); err != nil {
		t.Fatal(err)
	}
	if docs, err = os.ReadFile("../../docs/deploy.md"); err != nil {
		t.Fatal(err)
	}
	return regional, edge, docs
}

// set replaces (or adds) the value at path; del removes it.
func set(root map[string]any, v any, path ...string) {
	parent := Get(root, path[:len(path)-1]...)
	switch p := parent.(type) {
	case map[string]any:
		p[path[len(path)-1]] = v
	case []any:
		var i int
		for _, c := range path[len(path)-1] {
			i = i*10 + int(c-'0')
		}
		p[i] = v
	default:
		panic("set: no parent at " + strings.Join(path, "."))
	}
}

func del(root map[string]any, path ...string) {
	p, ok := Get(root, path[:len(path)-1]...).(map[string]any)
	if !ok {
		panic("del: no parent at " + strings.Join(path, "."))
	}
	if _, has := p[path[len(path)-1]]; !has {
		panic("del: nothing at " + strings.Join(path, "."))
	}
	delete(p, path[len(path)-1])
}

func res(path ...string) []string { return append([]string{"Resources"}, path...) }

const (
	regionalT = "template.yaml"
	edgeT     = "edge.yaml"
)

type mutation struct {
	name     string
	template string
	mutate   func(r map[string]any)
	want     string // a part of one of the errors
}

func runMutations(t *testing.T, inv func(docs []byte) Invariant, ms []mutation) {
	t.Helper()
	regional, edge, docs := templates(t)
	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) {
			base := regional
			if m.template == edgeT {
				base = edge
			}
			check := inv(docs)
			if errs := check(base); len(errs) != 0 {
				t.Fatalf("the real %s breaks the invariant: %v", m.template, errs)
			}
			c := base.Clone()
			m.mutate(c.Root)
			errs := check(c)
			if len(errs) == 0 {
				t.Fatalf("a %s broken by %q passes", m.template, m.name)
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), m.want) {
					return
				}
			}
			t.Fatalf("errors %v do not mention %q", errs, m.want)
		})
	}
}

func plain(i Invariant) func([]byte) Invariant { return func([]byte) Invariant { return i } }

func TestEdgeFunctions(t *testing.T) {
	runMutations(t, plain(EdgeFunctions), []mutation{
		{"environment variables", edgeT, func(r map[string]any) {
			set(r, map[string]any{"Variables": map[string]any{"BUCKET": "b"}}, res("ViewerRequestFunction", "Properties", "Environment")...)
		}, "no environment variables"},
		{"python runtime", edgeT, func(r map[string]any) {
			set(r, "python3.13", res("ViewerRequestFunction", "Properties", "Runtime")...)
		}, "want nodejs22.x"},
		{"older node on the response function", edgeT, func(r map[string]any) {
			set(r, "nodejs20.x", res("ViewerResponseFunction", "Properties", "Runtime")...)
		}, "ViewerResponseFunction: Runtime"},
		{"association to $LATEST", edgeT, func(r map[string]any) {
			set(r, map[string]any{"Fn::GetAtt": []any{"ViewerRequestFunction", "Arn"}},
				res("Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations", "0", "LambdaFunctionARN")...)
		}, "AWS::Lambda::Version"},
		{"arm64", edgeT, func(r map[string]any) {
			set(r, []any{"arm64"}, res("ViewerRequestFunction", "Properties", "Architectures")...)
		}, "only x86_64"},
		{"viewer memory", edgeT, func(r map[string]any) {
			set(r, 256, res("ViewerRequestFunction", "Properties", "MemorySize")...)
		}, "MemorySize <= 128"},
		{"no viewer-request", edgeT, func(r map[string]any) {
			del(r, res("Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations")...)
		}, "no viewer-request"},
	})
}

func TestSigningKey(t *testing.T) {
	runMutations(t, plain(SigningKey), []mutation{
		{"RSA", regionalT, func(r map[string]any) { set(r, "RSA_2048", res("SigningKey", "Properties", "KeySpec")...) }, "want ECC_NIST_P256"},
		{"encryption key", regionalT, func(r map[string]any) {
			set(r, "ENCRYPT_DECRYPT", res("SigningKey", "Properties", "KeyUsage")...)
		}, "want SIGN_VERIFY"},
		{"no key", regionalT, func(r map[string]any) { del(r, res("SigningKey")...) }, "no AWS::KMS::Key"},
		{"deleted with the stack", regionalT, func(r map[string]any) { set(r, "Delete", res("SigningKey", "DeletionPolicy")...) }, "Retain"},
	})
}

var (
	edgefnPolicy    = res("EdgefnRole", "Properties", "Policies", "0", "PolicyDocument", "Statement")
	publisherPolicy = res("PublisherRole", "Properties", "Policies", "0", "PolicyDocument", "Statement")
	edgePolicy      = res("EdgeRole", "Properties", "Policies", "0", "PolicyDocument", "Statement")
)

func at(path []string, more ...string) []string { return append(append([]string{}, path...), more...) }

func TestLeastPrivilege(t *testing.T) {
	runMutations(t, plain(LeastPrivilege), []mutation{
		{"s3:* for edgefn", regionalT, func(r map[string]any) { set(r, "s3:*", at(edgefnPolicy, "1", "Action")...) }, `action s3:*`},
		{"kms:* for the publisher", regionalT, func(r map[string]any) { set(r, "kms:*", at(publisherPolicy, "2", "Action")...) }, `action kms:*`},
		{"s3:Get* at the edge", edgeT, func(r map[string]any) { set(r, "s3:Get*", at(edgePolicy, "1", "Action")...) }, `action s3:Get*`},
		{"Resource * for edgefn", regionalT, func(r map[string]any) { set(r, "*", at(edgefnPolicy, "3", "Resource")...) }, `Resource "*"`},
		{"whole bucket at the edge", edgeT, func(r map[string]any) {
			set(r, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/*"}, at(edgePolicy, "1", "Resource", "1")...)
		}, "under the project's prefix"},
		{"foreign parameter", regionalT, func(r map[string]any) {
			set(r, "arn:aws:ssm:eu-west-1:123456789012:parameter/other", at(edgefnPolicy, "5", "Resource", "0")...)
		}, "neither a resource of this template"},
		{"managed policy", regionalT, func(r map[string]any) {
			set(r, []any{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}, res("EdgefnRole", "Properties", "ManagedPolicyArns")...)
		}, "ManagedPolicyArns"},
		{"NotAction", regionalT, func(r map[string]any) {
			set(r, []any{"iam:*"}, at(publisherPolicy, "0", "NotAction")...)
		}, "NotAction"},
		{"listing the whole bucket", regionalT, func(r map[string]any) { del(r, at(edgefnPolicy, "2", "Condition")...) }, "s3:prefix"},
		{"anyone assumes the publisher role", regionalT, func(r map[string]any) {
			set(r, "*", res("PublisherRole", "Properties", "AssumeRolePolicyDocument", "Statement", "0", "Principal")...)
		}, "anyone may assume"},
	})
}

func TestRolesDoOnlyTheirJob(t *testing.T) {
	runMutations(t, plain(RolesDoOnlyTheirJob), []mutation{
		{"edgefn deletes", regionalT, func(r map[string]any) {
			set(r, []any{"s3:PutObject", "s3:DeleteObject"}, at(edgefnPolicy, "3", "Action")...)
		}, "s3:DeleteObject is not part of its job"},
		{"edgefn writes bundles", regionalT, func(r map[string]any) {
			set(r, map[string]any{"Fn::Sub": "${Bucket.Arn}/${ProjectName}/${EnvironmentName}/bundles/*"}, at(edgefnPolicy, "3", "Resource")...)
		}, "outside"},
		{"the edge writes", edgeT, func(r map[string]any) {
			set(r, []any{"s3:GetObject", "s3:PutObject"}, at(edgePolicy, "1", "Action")...)
		}, "s3:PutObject is not part of its job"},
		{"publisher signs anything", regionalT, func(r map[string]any) { del(r, at(publisherPolicy, "2", "Condition")...) }, "ECDSA_SHA_256"},
		{"publisher decrypts", regionalT, func(r map[string]any) {
			set(r, []any{"kms:GetPublicKey", "kms:Decrypt"}, at(publisherPolicy, "3", "Action")...)
		}, "kms:Decrypt is not part of its job"},
		{"edgefn reads any parameter", regionalT, func(r map[string]any) {
			set(r, []any{"ssm:GetParameter", "ssm:GetParametersByPath"}, at(edgefnPolicy, "5", "Action")...)
		}, "ssm:GetParametersByPath"},
	})
}

func TestPublicAccessBlocked(t *testing.T) {
	runMutations(t, plain(PublicAccessBlocked), []mutation{
		{"public policies allowed", regionalT, func(r map[string]any) {
			set(r, false, res("Bucket", "Properties", "PublicAccessBlockConfiguration", "BlockPublicPolicy")...)
		}, "BlockPublicPolicy"},
		{"no public access block", regionalT, func(r map[string]any) {
			del(r, res("Bucket", "Properties", "PublicAccessBlockConfiguration")...)
		}, "RestrictPublicBuckets"},
		{"ACLs", regionalT, func(r map[string]any) {
			set(r, "ObjectWriter", res("Bucket", "Properties", "OwnershipControls", "Rules", "0", "ObjectOwnership")...)
		}, "BucketOwnerEnforced"},
		{"public read", regionalT, func(r map[string]any) {
			stmts := Get(r, res("BucketPolicy", "Properties", "PolicyDocument", "Statement")...).([]any)
			set(r, append(stmts, map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "x"}),
				res("BucketPolicy", "Properties", "PolicyDocument", "Statement")...)
		}, "allows anyone"},
	})
}

func TestBucketProtected(t *testing.T) {
	runMutations(t, plain(BucketProtected), []mutation{
		{"plain HTTP", regionalT, func(r map[string]any) {
			set(r, "true", res("BucketPolicy", "Properties", "PolicyDocument", "Statement", "0", "Condition", "Bool", "aws:SecureTransport")...)
		}, "without TLS"},
		{"TLS only for the bucket, not its objects", regionalT, func(r map[string]any) {
			set(r, []any{map[string]any{"Fn::GetAtt": []any{"Bucket", "Arn"}}}, res("BucketPolicy", "Properties", "PolicyDocument", "Statement", "0", "Resource")...)
		}, "without TLS"},
		{"unversioned", regionalT, func(r map[string]any) {
			set(r, "Suspended", res("Bucket", "Properties", "VersioningConfiguration", "Status")...)
		}, "versioning"},
		{"unencrypted", regionalT, func(r map[string]any) { del(r, res("Bucket", "Properties", "BucketEncryption")...) }, "encryption"},
		{"events kept forever", regionalT, func(r map[string]any) {
			del(r, res("Bucket", "Properties", "LifecycleConfiguration", "Rules", "0", "ExpirationInDays")...)
		}, "event batches"},
		{"deleted with the stack", regionalT, func(r map[string]any) { del(r, res("Bucket", "DeletionPolicy")...) }, "Retain"},
	})
}

func TestFunctionURLAuth(t *testing.T) {
	withDocs := func(edit func(string) string) func([]byte) Invariant {
		return func(d []byte) Invariant { return FunctionURLAuth([]byte(edit(string(d)))) }
	}
	runMutations(t, FunctionURLAuth, []mutation{
		{"IAM auth while the docs say NONE", regionalT, func(r map[string]any) {
			set(r, "AWS_IAM", res("EdgefnUrl", "Properties", "AuthType")...)
		}, "the docs say NONE"},
		{"direct public invoke", regionalT, func(r map[string]any) {
			del(r, res("EdgefnUrlInvokePermission", "Properties", "InvokedViaFunctionUrl")...)
		}, "more than a NONE function URL needs"},
		{"public GetFunction", regionalT, func(r map[string]any) {
			set(r, "lambda:GetFunction", res("EdgefnUrlInvokeUrlPermission", "Properties", "Action")...)
		}, "lambda:GetFunction"},
		{"no function URL", regionalT, func(r map[string]any) { del(r, res("EdgefnUrl")...) }, "no AWS::Lambda::Url"},
	})
	// The docs are the other half: break them instead of the template.
	regional, _, docs := templates(t)
	for name, edit := range map[string]func(string) string{
		"docs without the reason": func(d string) string { return strings.ReplaceAll(d, DocNoneStatement, "edgefn is careful") },
		"docs say AWS_IAM":        func(d string) string { return strings.ReplaceAll(d, "`AuthType: NONE`", "`AuthType: AWS_IAM`") },
		"docs say both":           func(d string) string { return d + "\n`AuthType: AWS_IAM`\n" },
		"docs say nothing":        func(d string) string { return strings.ReplaceAll(d, "`AuthType: NONE`", "") },
	} {
		t.Run(name, func(t *testing.T) {
			if errs := withDocs(edit)(docs)(regional); len(errs) == 0 {
				t.Fatalf("template passes against docs broken by %q", name)
			}
		})
	}
}

func TestEdgefnConfig(t *testing.T) {
	env := res("EdgefnFunction", "Properties", "Environment", "Variables")
	runMutations(t, plain(EdgefnConfig), []mutation{
		{"an extra variable", regionalT, func(r map[string]any) { set(r, "1", at(env, "EDGEFN_DEBUG")...) }, "want exactly"},
		{"no JWKS", regionalT, func(r map[string]any) { del(r, at(env, "EDGEFN_JWKS")...) }, "want exactly"},
		{"inline token key", regionalT, func(r map[string]any) {
			set(r, `{"kty":"OKP","crv":"Ed25519","d":"secret"}`, at(env, "EDGEFN_TOKEN_KEY")...)
		}, "EDGEFN_TOKEN_KEY must be an ssm: or secretsmanager: reference"},
		{"token key from a parameter", regionalT, func(r map[string]any) {
			set(r, map[string]any{"Ref": "TokenKey"}, at(env, "EDGEFN_TOKEN_KEY")...)
		}, "EDGEFN_TOKEN_KEY must be"},
		{"API keys the role cannot read", regionalT, func(r map[string]any) {
			set(r, "ssm:/other/api-keys", at(env, "EDGEFN_API_KEYS")...)
		}, "cannot ssm:GetParameter /other/api-keys"},
		{"x86_64", regionalT, func(r map[string]any) {
			set(r, []any{"x86_64"}, res("EdgefnFunction", "Properties", "Architectures")...)
		}, "want [arm64]"},
		{"fixed concurrency", regionalT, func(r map[string]any) {
			set(r, 5, res("EdgefnFunction", "Properties", "ReservedConcurrentExecutions")...)
		}, "ReservedConcurrency parameter"},
		{"fixed retention", regionalT, func(r map[string]any) {
			set(r, 14, res("EdgefnLogGroup", "Properties", "RetentionInDays")...)
		}, "LogRetentionDays"},
	})
}

func TestCacheKey(t *testing.T) {
	key := res("VariantCachePolicy", "Properties", "CachePolicyConfig", "ParametersInCacheKeyAndForwardedToOrigin")
	runMutations(t, plain(CacheKey), []mutation{
		{"no variant header", edgeT, func(r map[string]any) { set(r, []any{"Accept-Language"}, at(key, "HeadersConfig", "Headers")...) }, VariantHeader},
		{"per-user cache", edgeT, func(r map[string]any) {
			set(r, map[string]any{"CookieBehavior": "whitelist", "Cookies": []any{UnitCookie}}, at(key, "CookiesConfig")...)
		}, "must not be in the cache key"},
		{"all cookies", edgeT, func(r map[string]any) { set(r, "all", at(key, "CookiesConfig", "CookieBehavior")...) }, "CookieBehavior"},
		{"managed policy", edgeT, func(r map[string]any) {
			set(r, "658327ea-f89d-4fab-a63d-7e88639e58f6", res("Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "CachePolicyId")...)
		}, "must reference a cache policy"},
	})
}

func TestAlarms(t *testing.T) {
	runMutations(t, plain(Alarms), []mutation{
		{"no bundle age alarm", regionalT, func(r map[string]any) { del(r, res("BundleAgeAlarm")...) }, "edgeflag BundleAgeSeconds"},
		{"bundle age without Environment", regionalT, func(r map[string]any) {
			set(r, []any{map[string]any{"Name": "Project", "Value": "x"}}, res("BundleAgeAlarm", "Properties", "Dimensions")...)
		}, "Project and Environment"},
		{"wrong namespace", regionalT, func(r map[string]any) { set(r, "EdgeFlag", res("BundleAgeAlarm", "Properties", "Namespace")...) }, "edgeflag BundleAgeSeconds"},
		{"no throttles alarm", regionalT, func(r map[string]any) { del(r, res("EdgefnThrottlesAlarm")...) }, "AWS/Lambda Throttles"},
		{"errors alarm tells nobody", regionalT, func(r map[string]any) { del(r, res("EdgefnErrorsAlarm", "Properties", "AlarmActions")...) }, "AlarmActions"},
	})
}

func TestEventsTable(t *testing.T) {
	in := res("EventsTable", "Properties", "TableInput")
	runMutations(t, plain(EventsTable), []mutation{
		{"no projection", regionalT, func(r map[string]any) { del(r, at(in, "Parameters", "projection.enabled")...) }, "projection.enabled"},
		{"partitions swapped", regionalT, func(r map[string]any) {
			p := Get(r, at(in, "PartitionKeys")...).([]any)
			set(r, []any{p[1], p[0]}, at(in, "PartitionKeys")...)
		}, "want [dt hr]"},
		{"a column missing", regionalT, func(r map[string]any) {
			c := Get(r, at(in, "StorageDescriptor", "Columns")...).([]any)
			set(r, c[:len(c)-1], at(in, "StorageDescriptor", "Columns")...)
		}, "columns"},
		{"another layout", regionalT, func(r map[string]any) {
			set(r, map[string]any{"Fn::Sub": "s3://${Bucket}/events/${!dt}/${!hr}/"}, at(in, "Parameters", "storage.location.template")...)
		}, "storage.location.template"},
	})
}

func TestParseRejects(t *testing.T) {
	for name, src := range map[string]string{
		"duplicate key": "Resources:\n  A: {Type: X}\n  A: {Type: Y}\n",
		"unknown tag":   "Resources:\n  A: !Evil x\n",
		"alias":         "a: &x 1\nb: *x\n",
		"not a mapping": "- 1\n",
		"bad GetAtt":    "a: !GetAtt NoDot\n",
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	tp, err := Parse([]byte("a: !GetAtt R.Arn\nb: !Sub 'x${R}'\nc: !Ref P\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Text(tp.Root["a"]) + "|" + Text(tp.Root["b"]) + "|" + Text(tp.Root["c"]); got != "${R.Arn}|x${R}|${P}" {
		t.Fatalf("short forms: %s", got)
	}
}

// TestPublishCommandOutput: the regional stack prints the publish command for
// its own bucket and key, with flags the CLI documents for publish.
func TestPublishCommandOutput(t *testing.T) {
	regional, _, _ := templates(t)
	cmd := Text(Get(regional.Root, "Outputs", "PublishCommand", "Value"))
	for _, want := range []string{"edgeflag publish ", "--kms-key ${SigningKey.Arn}", "--store 's3://${Bucket}?region=${AWS::Region}'", "--env ${EnvironmentName}"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("PublishCommand %q lacks %q", cmd, want)
		}
	}
	cli, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var synopsis string
	for _, l := range strings.Split(string(cli), "\n") {
		if strings.HasPrefix(l, "edgeflag publish ") {
			synopsis = l
		}
	}
	if synopsis == "" {
		t.Fatal("docs/cli.md has no publish synopsis")
	}
	for _, f := range strings.Fields(cmd) {
		if strings.HasPrefix(f, "--") && !strings.Contains(synopsis, f+" ") {
			t.Errorf("PublishCommand uses %s, which `%s` does not have", f, synopsis)
		}
	}
}
