package check

import (
	"errors"
	"fmt"
	"github.com/edgeflag/edgeflag/publisher/eventlog"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// An Invariant checks one property of a template and returns every
// violation it finds (nil when the template holds it).
type Invariant func(t *Template) []error

// EdgeFunctions checks the functions CloudFront runs at the edge: each
// association names a numbered version (AWS::Lambda::Version) of a function
// in the template that runs Node.js 22 on x86_64, has no environment
// variables (Lambda@Edge has none), and fits the viewer limits (128 MB, 5 s).
// The default behaviour must run a viewer-request function.
func EdgeFunctions(t *Template) []error {
	var errs []error
	found := false
	for _, d := range t.Resources("AWS::CloudFront::Distribution") {
		cfg := Get(d.Properties, "DistributionConfig")
		behaviours := append([]any{Get(cfg, "DefaultCacheBehavior")}, List(Get(cfg, "CacheBehaviors"))...)
		for bi, b := range behaviours {
			for _, a := range List(Get(b, "LambdaFunctionAssociations")) {
				event, _ := Get(a, "EventType").(string)
				if bi == 0 && event == "viewer-request" {
					found = true
				}
				errs = append(errs, t.edgeFunction(d.ID, event, Get(a, "LambdaFunctionARN"))...)
			}
		}
	}
	if !found {
		errs = append(errs, errors.New("no viewer-request function on a distribution's default behaviour"))
	}
	return errs
}

func (t *Template) edgeFunction(dist, event string, arn any) []error {
	ver, ok := t.Resource(RefTarget(arn))
	if !ok || ver.Type != "AWS::Lambda::Version" {
		return []error{fmt.Errorf("%s %s: LambdaFunctionARN must reference an AWS::Lambda::Version of this template", dist, event)}
	}
	fn, ok := t.Resource(RefTarget(Get(ver.Properties, "FunctionName")))
	if !ok || fn.Type != "AWS::Lambda::Function" {
		return []error{fmt.Errorf("%s: FunctionName must reference an AWS::Lambda::Function of this template", ver.ID)}
	}
	var errs []error
	if rt, _ := fn.Properties["Runtime"].(string); rt != "nodejs22.x" {
		errs = append(errs, fmt.Errorf("%s: Runtime %q, want nodejs22.x (Lambda@Edge runs Node.js)", fn.ID, rt))
	}
	if _, has := fn.Properties["Environment"]; has {
		errs = append(errs, fmt.Errorf("%s: Lambda@Edge functions have no environment variables; bake configuration into the package", fn.ID))
	}
	if arch := List(fn.Properties["Architectures"]); len(arch) > 0 && !(len(arch) == 1 && arch[0] == "x86_64") {
		errs = append(errs, fmt.Errorf("%s: Architectures %v, Lambda@Edge supports only x86_64", fn.ID, arch))
	}
	if strings.HasPrefix(event, "viewer-") {
		if n, ok := fn.Properties["MemorySize"].(int); !ok || n > 128 {
			errs = append(errs, fmt.Errorf("%s: viewer functions need MemorySize <= 128 (got %v)", fn.ID, fn.Properties["MemorySize"]))
		}
		if n, ok := fn.Properties["Timeout"].(int); !ok || n > 5 {
			errs = append(errs, fmt.Errorf("%s: viewer functions need Timeout <= 5 (got %v)", fn.ID, fn.Properties["Timeout"]))
		}
	}
	return errs
}

// SigningKey checks that the template has the publisher's KMS key and that
// every KMS key in it is an ECC_NIST_P256 SIGN_VERIFY key that survives the
// stack (DeletionPolicy Retain).
func SigningKey(t *Template) []error {
	keys := t.Resources("AWS::KMS::Key")
	if len(keys) == 0 {
		return []error{errors.New("no AWS::KMS::Key")}
	}
	var errs []error
	for _, k := range keys {
		if v := k.Properties["KeySpec"]; v != "ECC_NIST_P256" {
			errs = append(errs, fmt.Errorf("%s: KeySpec %v, want ECC_NIST_P256", k.ID, v))
		}
		if v := k.Properties["KeyUsage"]; v != "SIGN_VERIFY" {
			errs = append(errs, fmt.Errorf("%s: KeyUsage %v, want SIGN_VERIFY", k.ID, v))
		}
		if k.Properties["EnableKeyRotation"] == true {
			errs = append(errs, fmt.Errorf("%s: asymmetric keys cannot rotate automatically; rotation is docs/keys.md's procedure", k.ID))
		}
		if k.Raw["DeletionPolicy"] != "Retain" {
			errs = append(errs, fmt.Errorf("%s: DeletionPolicy must be Retain (deleting the stack must not destroy the signing key)", k.ID))
		}
	}
	return errs
}

// statement is one IAM policy statement and where it came from.
type statement struct {
	owner string // logical id of the role or policy
	m     map[string]any
}

// roleStatements returns the statements of every identity policy in the
// template: inline role policies and policy resources.
func (t *Template) roleStatements() (map[string][]statement, []error) {
	out := map[string][]statement{}
	var errs []error
	add := func(owner string, doc any) {
		for _, s := range List(Get(doc, "Statement")) {
			m, ok := s.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: a policy statement is not a mapping", owner))
				continue
			}
			out[owner] = append(out[owner], statement{owner, m})
		}
	}
	for _, r := range t.Resources("AWS::IAM::Role") {
		if _, has := r.Properties["ManagedPolicyArns"]; has {
			errs = append(errs, fmt.Errorf("%s: ManagedPolicyArns: managed policies are not scoped to this stack; write the statements inline", r.ID))
		}
		for _, p := range List(r.Properties["Policies"]) {
			add(r.ID, Get(p, "PolicyDocument"))
		}
		for _, s := range List(Get(r.Properties, "AssumeRolePolicyDocument", "Statement")) {
			if p := Get(s, "Principal"); p == "*" || Get(p, "AWS") == "*" {
				errs = append(errs, fmt.Errorf("%s: anyone may assume this role", r.ID))
			}
		}
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"} {
		for _, r := range t.Resources(typ) {
			for _, role := range List(r.Properties["Roles"]) {
				if id := RefTarget(role); id != "" {
					add(id, r.Properties["PolicyDocument"])
				}
			}
			if id := RefTarget(r.Properties["RoleName"]); id != "" {
				add(id, r.Properties["PolicyDocument"])
			}
		}
	}
	return out, errs
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9:]+)(\.[A-Za-z0-9]+)?\}`)

// LeastPrivilege checks every Allow statement of every role (all roles of
// edgeflag are data-plane roles): no wildcard actions (so no s3:* or kms:*),
// no NotAction or NotResource, no Resource "*", every resource either a
// resource of this template or a name scoped to ${ProjectName} and
// ${EnvironmentName}, S3 object access only under the project's prefix and
// s3:ListBucket only with an s3:prefix condition.
func LeastPrivilege(t *Template) []error {
	byRole, errs := t.roleStatements()
	if len(byRole) == 0 {
		errs = append(errs, errors.New("no role policies"))
	}
	for _, role := range sortedKeys(byRole) {
		for _, s := range byRole[role] {
			if s.m["Effect"] != "Allow" {
				continue
			}
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, has := s.m[k]; has {
					errs = append(errs, fmt.Errorf("%s: %s grants everything but a list", role, k))
				}
			}
			actions := List(s.m["Action"])
			for _, a := range actions {
				as, _ := a.(string)
				if strings.Contains(as, "*") || as == "" {
					errs = append(errs, fmt.Errorf("%s: action %v: name every action, no wildcards", role, a))
				}
			}
			for _, r := range List(s.m["Resource"]) {
				errs = append(errs, t.checkResource(role, s, actions, r)...)
			}
		}
	}
	return errs
}

func (t *Template) checkResource(role string, s statement, actions []any, r any) []error {
	txt := Text(r)
	if txt == "" {
		return []error{fmt.Errorf("%s: resource %v is not a plain ARN, !Ref, !GetAtt or !Sub", role, r)}
	}
	if txt == "*" || strings.HasSuffix(txt, ":*") && !strings.Contains(txt, "${ProjectName}") {
		return []error{fmt.Errorf("%s: Resource %q: scope it to this stack's resources", role, txt)}
	}
	var errs []error
	scoped := strings.Contains(txt, "${ProjectName}") && strings.Contains(txt, "${EnvironmentName}")
	if m := subVar.FindStringSubmatch(txt); !scoped && (m == nil || !t.hasResource(m[1]) || !strings.HasPrefix(txt, m[0])) {
		errs = append(errs, fmt.Errorf("%s: resource %q is neither a resource of this template nor scoped to ${ProjectName}/${EnvironmentName}", role, txt))
	}
	for _, a := range actions {
		as, _ := a.(string)
		switch {
		case as == "s3:ListBucket":
			if Get(s.m, "Condition", "StringLike", "s3:prefix") == nil && Get(s.m, "Condition", "StringEquals", "s3:prefix") == nil {
				errs = append(errs, fmt.Errorf("%s: s3:ListBucket without an s3:prefix condition lists the whole bucket", role))
			}
		case strings.HasPrefix(as, "s3:") && !strings.Contains(txt, "${ProjectName}/"):
			errs = append(errs, fmt.Errorf("%s: %s on %q: object access must be under the project's prefix", role, as, txt))
		}
	}
	return errs
}

func (t *Template) hasResource(id string) bool {
	_, ok := t.Resource(id)
	return ok
}

// The part each role plays, told by who may assume it.
const (
	partEdge      = "edge"      // edgelambda.amazonaws.com: the viewer functions
	partEdgefn    = "edgefn"    // lambda.amazonaws.com only: edgefn
	partPublisher = "publisher" // an AWS principal: people and CI publishing
)

// duties lists, for each part, the actions it may have and, for writes, the
// key suffixes it may write under.
var duties = map[string]struct {
	actions []string
	writes  []string
}{
	partEdge:      {[]string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject"}, nil},
	partEdgefn:    {[]string{"logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "ssm:GetParameter"}, []string{"/events/*", "/analytics/*"}},
	partPublisher: {[]string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"}, []string{"/bundles/*", "/audit/*", "/current.json", "/webhooks.json"}},
}

// RolesDoOnlyTheirJob checks each role against its part: the edge reads
// bundles (and writes its logs); edgefn reads bundles and its secrets and
// writes events and analytics; the publisher writes bundles, the pointer,
// audit records and webhook state and signs with the key, only with
// ECDSA_SHA_256 over a digest. Nobody deletes.
func RolesDoOnlyTheirJob(t *Template) []error {
	byRole, errs := t.roleStatements()
	for _, r := range t.Resources("AWS::IAM::Role") {
		part := rolePart(r)
		duty := duties[part]
		if part == "" {
			errs = append(errs, fmt.Errorf("%s: cannot tell its part from its trust policy", r.ID))
			continue
		}
		for _, s := range byRole[r.ID] {
			if s.m["Effect"] != "Allow" {
				continue
			}
			for _, a := range List(s.m["Action"]) {
				as, _ := a.(string)
				if !slices.Contains(duty.actions, as) {
					errs = append(errs, fmt.Errorf("%s (%s): %s is not part of its job", r.ID, part, as))
				}
				if as == "s3:PutObject" {
					for _, res := range List(s.m["Resource"]) {
						txt := Text(res)
						if !slices.ContainsFunc(duty.writes, func(w string) bool { return strings.HasSuffix(txt, w) }) {
							errs = append(errs, fmt.Errorf("%s (%s): writes %q, outside %v", r.ID, part, txt, duty.writes))
						}
					}
				}
				if as == "kms:Sign" && (Get(s.m, "Condition", "StringEquals", "kms:SigningAlgorithm") != "ECDSA_SHA_256" || Get(s.m, "Condition", "StringEquals", "kms:MessageType") != "DIGEST") {
					errs = append(errs, fmt.Errorf("%s (%s): kms:Sign must be limited to ECDSA_SHA_256 over a DIGEST", r.ID, part))
				}
			}
		}
	}
	return errs
}

func rolePart(r Resource) string {
	var services []string
	aws := false
	for _, s := range List(Get(r.Properties, "AssumeRolePolicyDocument", "Statement")) {
		for _, svc := range List(Get(s, "Principal", "Service")) {
			str, _ := svc.(string)
			services = append(services, str)
		}
		if Get(s, "Principal", "AWS") != nil {
			aws = true
		}
	}
	switch {
	case aws && len(services) == 0:
		return partPublisher
	case slices.Contains(services, "edgelambda.amazonaws.com") && !aws:
		return partEdge
	case len(services) == 1 && services[0] == "lambda.amazonaws.com" && !aws:
		return partEdgefn
	}
	return ""
}

// PublicAccessBlocked checks that every bucket blocks public access (all
// four settings), has ACLs disabled, and that no bucket policy allows
// anyone ("*") anything.
func PublicAccessBlocked(t *Template) []error {
	buckets := t.Resources("AWS::S3::Bucket")
	if len(buckets) == 0 {
		return []error{errors.New("no bucket")}
	}
	var errs []error
	for _, b := range buckets {
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if Get(b.Properties, "PublicAccessBlockConfiguration", k) != true {
				errs = append(errs, fmt.Errorf("%s: PublicAccessBlockConfiguration.%s must be true", b.ID, k))
			}
		}
		if Get(b.Properties, "OwnershipControls", "Rules", "0", "ObjectOwnership") != "BucketOwnerEnforced" {
			errs = append(errs, fmt.Errorf("%s: OwnershipControls must be BucketOwnerEnforced (no ACLs)", b.ID))
		}
	}
	for _, p := range t.Resources("AWS::S3::BucketPolicy") {
		for _, s := range List(Get(p.Properties, "PolicyDocument", "Statement")) {
			if pr := Get(s, "Principal"); Get(s, "Effect") == "Allow" && (pr == "*" || Get(pr, "AWS") == "*") {
				errs = append(errs, fmt.Errorf("%s: a statement allows anyone", p.ID))
			}
		}
	}
	return errs
}

// BucketProtected checks the rest of the bucket's contract: encrypted,
// versioned, kept when the stack goes, TLS-only (a Deny of s3:* without
// aws:SecureTransport on the bucket and its objects), and event batches
// expire by a lifecycle rule on the events prefix.
func BucketProtected(t *Template) []error {
	var errs []error
	for _, b := range t.Resources("AWS::S3::Bucket") {
		if Get(b.Properties, "BucketEncryption", "ServerSideEncryptionConfiguration", "0", "ServerSideEncryptionByDefault", "SSEAlgorithm") == nil {
			errs = append(errs, fmt.Errorf("%s: no default encryption", b.ID))
		}
		if Get(b.Properties, "VersioningConfiguration", "Status") != "Enabled" {
			errs = append(errs, fmt.Errorf("%s: versioning must be Enabled", b.ID))
		}
		if b.Raw["DeletionPolicy"] != "Retain" {
			errs = append(errs, fmt.Errorf("%s: DeletionPolicy must be Retain (audit records outlive the stack)", b.ID))
		}
		events := false
		for _, r := range List(Get(b.Properties, "LifecycleConfiguration", "Rules")) {
			if strings.HasSuffix(Text(Get(r, "Prefix")), "/events/") && Get(r, "Status") == "Enabled" && Get(r, "ExpirationInDays") != nil {
				events = true
			}
		}
		if !events {
			errs = append(errs, fmt.Errorf("%s: no enabled lifecycle rule expires event batches (<project>/<env>/events/)", b.ID))
		}
		if !t.tlsOnly(b.ID) {
			errs = append(errs, fmt.Errorf("%s: no bucket policy denies requests without TLS on the bucket and its objects", b.ID))
		}
	}
	return errs
}

func (t *Template) tlsOnly(bucket string) bool {
	for _, p := range t.Resources("AWS::S3::BucketPolicy") {
		if RefTarget(p.Properties["Bucket"]) != bucket {
			continue
		}
		for _, s := range List(Get(p.Properties, "PolicyDocument", "Statement")) {
			if Get(s, "Effect") != "Deny" || Get(s, "Principal") != "*" || Get(s, "Action") != "s3:*" ||
				Get(s, "Condition", "Bool", "aws:SecureTransport") != "false" {
				continue
			}
			var res []string
			for _, r := range List(Get(s, "Resource")) {
				res = append(res, Text(r))
			}
			arn := "${" + bucket + ".Arn}"
			if slices.Contains(res, arn) && slices.Contains(res, arn+"/*") {
				return true
			}
		}
	}
	return false
}

var docAuthType = regexp.MustCompile("`AuthType: ([A-Z_]+)`")

// DocNoneStatement is the sentence docs/deploy.md must contain when the
// function URL has AuthType NONE: it is why NONE is allowed.
const DocNoneStatement = "every endpoint but `/healthz` requires an API key or a client token"

// FunctionURLAuth returns an invariant that checks the function URLs
// against the deployment docs: the docs name one AuthType (as
// "`AuthType: X`"); every AWS::Lambda::Url has it. With NONE the docs must
// say why (DocNoneStatement), and the only public permissions are the two a
// function URL needs: lambda:InvokeFunctionUrl for FunctionUrlAuthType NONE
// and lambda:InvokeFunction only when InvokedViaFunctionUrl, so nobody can
// invoke the function directly.
func FunctionURLAuth(docs []byte) Invariant {
	return func(t *Template) []error {
		var errs []error
		found := map[string]bool{}
		for _, m := range docAuthType.FindAllSubmatch(docs, -1) {
			found[string(m[1])] = true
		}
		if len(found) != 1 {
			return []error{fmt.Errorf("the docs must name exactly one function URL AuthType as `AuthType: X`, found %v", sortedKeys(found))}
		}
		want := sortedKeys(found)[0]
		if want == "NONE" && !strings.Contains(string(docs), DocNoneStatement) {
			errs = append(errs, fmt.Errorf("the docs allow AuthType NONE but do not say %q", DocNoneStatement))
		}
		urls := t.Resources("AWS::Lambda::Url")
		if len(urls) == 0 {
			errs = append(errs, errors.New("no AWS::Lambda::Url"))
		}
		for _, u := range urls {
			if got := u.Properties["AuthType"]; got != want {
				errs = append(errs, fmt.Errorf("%s: AuthType %v, the docs say %s", u.ID, got, want))
			}
		}
		for _, p := range t.Resources("AWS::Lambda::Permission") {
			if p.Properties["Principal"] != "*" {
				continue
			}
			switch a := p.Properties["Action"]; {
			case want == "NONE" && a == "lambda:InvokeFunctionUrl" && p.Properties["FunctionUrlAuthType"] == "NONE":
			case want == "NONE" && a == "lambda:InvokeFunction" && p.Properties["InvokedViaFunctionUrl"] == true:
			default:
				errs = append(errs, fmt.Errorf("%s: public permission %v (FunctionUrlAuthType %v, InvokedViaFunctionUrl %v) is more than a %s function URL needs",
					p.ID, a, p.Properties["FunctionUrlAuthType"], p.Properties["InvokedViaFunctionUrl"], want))
			}
		}
		return errs
	}
}

// EdgefnEnv is the configuration contract of the edgefn Lambda: the
// environment variables it reads, and which of them are secret references.
var EdgefnEnv = []string{"EDGEFN_STORE", "EDGEFN_PROJECT", "EDGEFN_ENV", "EDGEFN_JWKS", "EDGEFN_API_KEYS", "EDGEFN_TOKEN_KEY"}

var secretRef = regexp.MustCompile(`^(ssm:/[A-Za-z0-9_./${}-]+|secretsmanager:[A-Za-z0-9_./${}:+=@-]+)$`)

// EdgefnConfig checks the edgefn function: provided.al2023 on arm64 with the
// bootstrap handler; exactly the EDGEFN_* variables of the contract; the
// API keys and the token key as ssm:/secretsmanager: references that its
// role can read (never a value); reserved concurrency and log retention
// from the parameters ReservedConcurrency and LogRetentionDays.
func EdgefnConfig(t *Template) []error {
	var fns []Resource
	for _, f := range t.Resources("AWS::Lambda::Function") {
		if f.Properties["Runtime"] == "provided.al2023" {
			fns = append(fns, f)
		}
	}
	if len(fns) != 1 {
		return []error{fmt.Errorf("want one provided.al2023 function (edgefn), found %d", len(fns))}
	}
	f := fns[0]
	var errs []error
	if a := List(f.Properties["Architectures"]); len(a) != 1 || a[0] != "arm64" {
		errs = append(errs, fmt.Errorf("%s: Architectures %v, want [arm64]", f.ID, a))
	}
	if f.Properties["Handler"] != "bootstrap" {
		errs = append(errs, fmt.Errorf("%s: Handler must be bootstrap", f.ID))
	}
	vars, _ := Get(f.Properties, "Environment", "Variables").(map[string]any)
	if got := sortedKeys(vars); !slices.Equal(got, sorted(EdgefnEnv)) {
		errs = append(errs, fmt.Errorf("%s: environment %v, want exactly %v", f.ID, got, sorted(EdgefnEnv)))
	}
	byRole, _ := t.roleStatements()
	role := RefTarget(f.Properties["Role"])
	for _, k := range []string{"EDGEFN_API_KEYS", "EDGEFN_TOKEN_KEY"} {
		ref := Text(vars[k])
		if !secretRef.MatchString(ref) {
			errs = append(errs, fmt.Errorf("%s: %s must be an ssm: or secretsmanager: reference, not %v", f.ID, k, vars[k]))
			continue
		}
		if name, ok := strings.CutPrefix(ref, "ssm:"); ok && !grants(byRole[role], "ssm:GetParameter", ":parameter"+name) {
			errs = append(errs, fmt.Errorf("%s: role %s cannot ssm:GetParameter %s", f.ID, role, name))
		}
	}
	if !mentionsRef(f.Properties["ReservedConcurrentExecutions"], "ReservedConcurrency") {
		errs = append(errs, fmt.Errorf("%s: ReservedConcurrentExecutions must come from the ReservedConcurrency parameter", f.ID))
	}
	lg, ok := t.Resource(RefTarget(Get(f.Properties, "LoggingConfig", "LogGroup")))
	if !ok || lg.Type != "AWS::Logs::LogGroup" || !mentionsRef(lg.Properties["RetentionInDays"], "LogRetentionDays") {
		errs = append(errs, fmt.Errorf("%s: LoggingConfig.LogGroup must be a log group of this template with RetentionInDays from the LogRetentionDays parameter", f.ID))
	}
	return errs
}

func grants(ss []statement, action, resourceSuffix string) bool {
	for _, s := range ss {
		if s.m["Effect"] != "Allow" || !slices.Contains(List(s.m["Action"]), any(action)) {
			continue
		}
		for _, r := range List(s.m["Resource"]) {
			if strings.HasSuffix(Text(r), resourceSuffix) {
				return true
			}
		}
	}
	return false
}

// mentionsRef reports whether v is !Ref name or an intrinsic containing it.
func mentionsRef(v any, name string) bool {
	switch x := v.(type) {
	case map[string]any:
		if x["Ref"] == name {
			return true
		}
		for _, e := range x {
			if mentionsRef(e, name) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentionsRef(e, name) {
				return true
			}
		}
	}
	return false
}

// VariantHeader and UnitCookie are the edge contract: the viewer-request
// function sets the header, the viewer-response function the cookie.
const (
	VariantHeader = "X-Edgeflag-Variant-Key"
	UnitCookie    = "ef_uid"
)

// CacheKey checks that the default behaviour's cache policy keys on the
// variant header and never on the unit cookie (that would cache per user).
func CacheKey(t *Template) []error {
	var errs []error
	dists := t.Resources("AWS::CloudFront::Distribution")
	if len(dists) == 0 {
		return []error{errors.New("no distribution")}
	}
	for _, d := range dists {
		pol, ok := t.Resource(RefTarget(Get(d.Properties, "DistributionConfig", "DefaultCacheBehavior", "CachePolicyId")))
		if !ok || pol.Type != "AWS::CloudFront::CachePolicy" {
			errs = append(errs, fmt.Errorf("%s: the default behaviour's CachePolicyId must reference a cache policy of this template", d.ID))
			continue
		}
		key := Get(pol.Properties, "CachePolicyConfig", "ParametersInCacheKeyAndForwardedToOrigin")
		if Get(key, "HeadersConfig", "HeaderBehavior") != "whitelist" ||
			!slices.ContainsFunc(List(Get(key, "HeadersConfig", "Headers")), func(h any) bool { s, _ := h.(string); return strings.EqualFold(s, VariantHeader) }) {
			errs = append(errs, fmt.Errorf("%s: cache key headers must include %s", pol.ID, VariantHeader))
		}
		switch Get(key, "CookiesConfig", "CookieBehavior") {
		case "none":
		case "whitelist":
			if slices.Contains(List(Get(key, "CookiesConfig", "Cookies")), any(UnitCookie)) {
				errs = append(errs, fmt.Errorf("%s: the %s cookie must not be in the cache key", pol.ID, UnitCookie))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: CookieBehavior must be none or a whitelist without %s", pol.ID, UnitCookie))
		}
	}
	return errs
}

// Alarms checks the regional alarms: edgefn's Errors and Throttles, and the
// age of the bundle edgefn serves (namespace edgeflag, metric
// BundleAgeSeconds, dimensions Project and Environment, as edgefn emits it
// in CloudWatch EMF).
func Alarms(t *Template) []error {
	want := map[string]bool{"AWS/Lambda Errors": false, "AWS/Lambda Throttles": false, "edgeflag BundleAgeSeconds": false}
	var errs []error
	for _, a := range t.Resources("AWS::CloudWatch::Alarm") {
		key := fmt.Sprintf("%v %v", a.Properties["Namespace"], a.Properties["MetricName"])
		if _, ok := want[key]; !ok {
			continue
		}
		var dims []string
		for _, d := range List(a.Properties["Dimensions"]) {
			dims = append(dims, fmt.Sprint(Get(d, "Name")))
		}
		sort.Strings(dims)
		switch {
		case strings.HasPrefix(key, "AWS/Lambda") && !slices.Equal(dims, []string{"FunctionName"}):
			errs = append(errs, fmt.Errorf("%s: %s needs the FunctionName dimension", a.ID, key))
		case strings.HasPrefix(key, "edgeflag") && !slices.Equal(dims, []string{"Environment", "Project"}):
			errs = append(errs, fmt.Errorf("%s: %s needs exactly the dimensions Project and Environment, has %v", a.ID, key, dims))
		case len(List(a.Properties["AlarmActions"])) == 0:
			errs = append(errs, fmt.Errorf("%s: no AlarmActions", a.ID))
		default:
			want[key] = true
		}
	}
	for _, k := range sortedKeys(want) {
		if !want[k] {
			errs = append(errs, fmt.Errorf("no working alarm on %s", k))
		}
	}
	return errs
}

// EventColumns are the fields of one event line (eventlog.Members), as the
// Athena columns (Hive lower-cases names; the JSON SerDe matches them
// case-insensitively).
var EventColumns = func() []string {
	cols := make([]string, len(eventlog.Members))
	for i, m := range eventlog.Members {
		cols[i] = strings.ToLower(m)
	}
	return cols
}()

// EventsTable checks the Athena table over the event prefix: JSON lines,
// the columns of the event schema, partitions dt and hr found by partition
// projection on the store's layout.
func EventsTable(t *Template) []error {
	tables := t.Resources("AWS::Glue::Table")
	if len(tables) != 1 {
		return []error{fmt.Errorf("want one Glue table, found %d", len(tables))}
	}
	tb := tables[0]
	in := Get(tb.Properties, "TableInput")
	var errs []error
	var parts, cols []string
	for _, p := range List(Get(in, "PartitionKeys")) {
		parts = append(parts, fmt.Sprint(Get(p, "Name")))
	}
	for _, c := range List(Get(in, "StorageDescriptor", "Columns")) {
		cols = append(cols, fmt.Sprint(Get(c, "Name")))
	}
	if !slices.Equal(parts, []string{"dt", "hr"}) {
		errs = append(errs, fmt.Errorf("%s: partition keys %v, want [dt hr]", tb.ID, parts))
	}
	if !slices.Equal(cols, EventColumns) {
		errs = append(errs, fmt.Errorf("%s: columns %v, want %v", tb.ID, cols, EventColumns))
	}
	params := Get(in, "Parameters")
	for k, v := range map[string]string{
		"projection.enabled": "true", "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
		"projection.hr.type": "integer", "projection.hr.range": "0,23", "projection.hr.digits": "2",
	} {
		if got := Get(params, k); got != v {
			errs = append(errs, fmt.Errorf("%s: %s = %v, want %q", tb.ID, k, got, v))
		}
	}
	if loc := Text(Get(params, "storage.location.template")); !strings.HasSuffix(loc, "/${ProjectName}/${EnvironmentName}/events/dt=${!dt}/hr=${!hr}/") {
		errs = append(errs, fmt.Errorf("%s: storage.location.template %q does not follow <project>/<env>/events/dt=…/hr=…/", tb.ID, loc))
	}
	if Get(in, "StorageDescriptor", "SerdeInfo", "SerializationLibrary") != "org.openx.data.jsonserde.JsonSerDe" {
		errs = append(errs, fmt.Errorf("%s: events are JSON lines; use org.openx.data.jsonserde.JsonSerDe", tb.ID))
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}
