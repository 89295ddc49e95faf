package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publisher/webhook"
)

// FuzzVerify: receivers run Verify on attacker-controlled headers and
// bodies. It must never panic, and must accept only what Sign produced for
// that exact body.
func FuzzVerify(f *testing.F) {
	body := `{"type":"publish"}`
	f.Add(webhook.Sign([]byte("k"), 1700000000, []byte(body)), body)
	f.Add("t=1700000000,v1=00", body)
	f.Add("t=1700000000,t=1700000000,v1="+strings.Repeat("ab", 32), body)
	f.Add(",,=,", "")
	f.Add("t=-9223372036854775808,v1="+strings.Repeat("ab", 32), "x")
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, header, body string) {
		err := webhook.Verify([]byte("k"), header, []byte(body), now, time.Hour)
		if err != nil {
			return
		}
		if !strings.Contains(header, webhook.Sign([]byte("k"), 1700000000, []byte(body))[len("t=1700000000,"):]) {
			t.Fatalf("accepted header %q for body %q without its signature", header, body)
		}
	})
}
