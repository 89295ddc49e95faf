package client

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// FuzzParsePointer: the store pointer comes from the network. Whatever the
// bytes, parsePointer returns an error or a pointer with everything the
// client relies on checked, which survives a round trip.
func FuzzParsePointer(f *testing.F) {
	d := strings.Repeat("ab", 32)
	for _, seed := range []string{
		// The shape the publisher writes (docs/publishing.md).
		`{"format":1,"project":"shop","environment":"production","version":42,"digests":{"client":"` + d + `","server":"` + d + `"},"publishedAt":"2026-05-01T12:00:00Z","actor":"ci@github","action":"publish"}`,
		`{"format":1,"project":"shop","environment":"production","version":1,"digests":{"client":"` + d + `"}} `,
		`{"format":2,"project":"shop","environment":"production","version":1,"digests":{}}`,
		`{"format":1,"project":"shop","environment":"production","version":9007199254740993,"digests":{"client":"` + d + `"}}`,
		`{"format":1} {"format":1}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePointer(data, "shop", "production", ir.AudienceClient)
		if err != nil {
			if p != nil {
				t.Fatal("a pointer and an error")
			}
			return
		}
		if p.Format != 1 || p.Project != "shop" || p.Environment != "production" || p.Version == 0 || p.Version > 1<<53-1 || !digestRE.MatchString(p.Digests["client"]) {
			t.Fatalf("accepted %+v", p)
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := parsePointer(again, "shop", "production", ir.AudienceClient)
		if err != nil || q.Version != p.Version || q.Digests["client"] != p.Digests["client"] {
			t.Fatalf("round trip: %+v, %v", q, err)
		}
	})
}
