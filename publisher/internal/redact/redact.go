// Package redact keeps secrets that travel inside URLs (webhook tokens in
// query strings, credentials in user info) out of error messages, output
// and state files.
package redact

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

// Mask replaces every redacted value.
const Mask = "REDACTED"

// URL returns raw with every query value and the user info password
// replaced by Mask; parameter names, scheme, host and path are kept so the
// URL can still be recognised. A string that does not parse as a URL is
// replaced entirely: it might be anything, a secret included.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = Mask
		} else {
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				for range q[k] {
					parts = append(parts, url.QueryEscape(k)+"="+Mask)
				}
			}
			u.RawQuery = strings.Join(parts, "&")
		}
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	return u.String()
}

// Error returns err with the URL of every *url.Error in its chain
// redacted (net/http reports the request URL, query string included, in
// its errors). The chain is kept, so errors.Is and errors.As still work.
func Error(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	ue.URL = URL(ue.URL)
	return err
}
