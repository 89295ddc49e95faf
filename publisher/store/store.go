// Package store keeps published bundles, the pointer naming each
// environment's current version and the audit log, in an object store (a
// local folder or S3), and implements the publish protocol on top of
// conditional writes so that concurrent publishers never lose an update.
//
// Layout, relative to the store URL's folder or key prefix:
//
//	<project>/<env>/bundles/<version>.<audience>.jws   immutable, create-only
//	<project>/<env>/audit/<version, 20 digits>.json    immutable, create-only
//	<project>/<env>/abandoned/<version, 20 digits>.json  a failed claim, create-only
//	<project>/<env>/current.json                       the pointer, compare-and-swap
//	<project>/webhooks.json                            webhook delivery state (package webhook)
//
// See docs/publishing.md for the protocol and its guarantees.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/publisher/internal/redact"
	"github.com/edgeflag/edgeflag/publisher/names"
	"github.com/edgeflag/edgeflag/publisher/store/blob"
	"github.com/edgeflag/edgeflag/publisher/store/filestore"
	"github.com/edgeflag/edgeflag/publisher/store/s3store"
)

// Blob is the object store the publisher writes to; see blob.Blob.
type Blob = blob.Blob

// Cond is a write condition; see blob.Cond.
type Cond = blob.Cond

// ErrNotFound reports a missing object (the same value as blob.ErrNotFound).
var ErrNotFound = blob.ErrNotFound

// ErrPreconditionFailed reports a lost conditional write (the same value as
// blob.ErrPreconditionFailed).
var ErrPreconditionFailed = blob.ErrPreconditionFailed

// Open returns the store a URL names:
//
//	file:///abs/path  or  file://rel/path      a local folder (created if missing)
//	s3://bucket[/prefix][?region=R&endpoint=URL&pathStyle=true]
//
// A URL Open cannot use as written is an error matching ErrBadURL. For
// s3://, credentials come from the AWS default chain (environment,
// shared config, SSO, IMDS...), the endpoint from the URL or the standard
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL variables, the region from the URL
// or the chain.
func Open(ctx context.Context, rawURL string) (Blob, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error would quote the URL, query string included.
		return nil, badURL("open store %s: not a URL", redact.URL(rawURL))
	}
	shown := redact.URL(rawURL)
	switch u.Scheme {
	case "file":
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, badURL("open store %s: file URLs take no query or fragment", shown)
		}
		p := u.Host + u.Path
		if u.Host == "localhost" {
			p = u.Path
		}
		if p == "" {
			return nil, badURL("open store %s: missing path", shown)
		}
		return filestore.New(p)
	case "s3":
		if u.Host == "" {
			return nil, badURL("open store %s: missing bucket", shown)
		}
		opts := s3store.Options{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
		q := u.Query()
		for k := range q {
			switch k {
			case "region", "endpoint", "pathStyle":
			default:
				return nil, badURL("open store %s: unknown parameter %q (want region, endpoint, pathStyle)", shown, k)
			}
		}
		opts.Region = q.Get("region")
		opts.Endpoint = q.Get("endpoint")
		if ps := q.Get("pathStyle"); ps != "" {
			b, err := strconv.ParseBool(ps)
			if err != nil {
				return nil, badURL("open store %s: pathStyle must be true or false", shown)
			}
			opts.PathStyle = b
		}
		return s3store.Open(ctx, opts)
	case "":
		return nil, badURL("open store %s: missing scheme (want file:// or s3://)", shown)
	default:
		return nil, badURL("open store %s: unsupported scheme %q (want file:// or s3://)", shown, u.Scheme)
	}
}

// ErrBadURL reports a store URL that Open cannot use as written (a usage
// error, as opposed to a store that cannot be reached).
var ErrBadURL = errors.New("invalid store URL")

// urlError is a message about a store URL that matches ErrBadURL.
type urlError struct{ msg string }

func (e *urlError) Error() string        { return e.msg }
func (e *urlError) Is(target error) bool { return target == ErrBadURL }

func badURL(format string, args ...any) error {
	return &urlError{msg: fmt.Sprintf(format, args...)}
}

// checkName validates a project, environment or audience name used as a key
// segment, by the rule lint applies to the config (package names).
func checkName(what, s string) error {
	if err := names.Check(s); err != nil {
		return fmt.Errorf("%s %q %w", what, s, err)
	}
	return nil
}

// Keys of the layout.

func envPrefix(project, env string) string { return project + "/" + env + "/" }

// PointerKey is the key of an environment's pointer object.
func PointerKey(project, env string) string { return envPrefix(project, env) + "current.json" }

// BundleKey is the key of one published bundle object.
func BundleKey(project, env string, version uint64, audience string) string {
	return envPrefix(project, env) + "bundles/" + strconv.FormatUint(version, 10) + "." + audience + ".jws"
}

// AuditKey is the key of the audit record of one version.
func AuditKey(project, env string, version uint64) string {
	return fmt.Sprintf("%saudit/%020d.json", envPrefix(project, env), version)
}

// AbandonKey is the key of the record a failed publisher leaves for the
// version it had claimed.
func AbandonKey(project, env string, version uint64) string {
	return fmt.Sprintf("%sabandoned/%020d.json", envPrefix(project, env), version)
}

// isNotFound reports whether err wraps ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, blob.ErrNotFound) }
