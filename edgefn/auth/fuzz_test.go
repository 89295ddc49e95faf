package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/edgefn/auth"
)

// FuzzVerify: Verify of any string never panics, fails only with its two
// sentinels, and whatever verifies is within the token rules.
func FuzzVerify(f *testing.F) {
	data, _, _ := tokenKey(f)
	tk, err := auth.ParseTokenKeys(data)
	if err != nil {
		f.Fatal(err)
	}
	good, _, _ := tk.Mint(basicReq, "shop", "production", now)
	staging, _, _ := tk.Mint(basicReq, "shop", "staging", now)
	values, _ := tk.SignValues([]byte(`{"subject":"u"}`))
	for _, s := range []string{good, staging, values, "a.b.c", "", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := tk.Verify(s, "shop", "production", now)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrOtherEnvironment) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if got.Subject == "" || got.ExpiresAt.Sub(got.IssuedAt) > time.Hour || got.Project != "shop" || got.Environment != "production" {
			t.Fatalf("verified token breaks the rules: %+v", got)
		}
	})
}
