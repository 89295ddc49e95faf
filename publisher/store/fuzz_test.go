package store

import (
	"testing"
)

// FuzzDecodePointer: the pointer is read from a shared bucket, so its
// decoder must reject anything malformed with an error, never panic, and
// whatever it accepts must name the expected project/env and a version.
func FuzzDecodePointer(f *testing.F) {
	f.Add([]byte(`{"format":1,"project":"shop","environment":"prod","version":3,"digests":{"server":"ab"},"publishedAt":"2026-05-01T12:00:00Z","actor":"ci","action":"publish"}`))
	f.Add([]byte(`{"format":1,"project":"shop","environment":"prod","version":0,"digests":{}}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{"format":1,"x":1}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		ptr, err := decodePointer(data, "shop", "prod")
		if err != nil {
			return
		}
		if ptr.Project != "shop" || ptr.Environment != "prod" || ptr.Version == 0 || len(ptr.Digests) == 0 || ptr.Format != recordFormat {
			t.Fatalf("accepted %+v", ptr)
		}
	})
}
