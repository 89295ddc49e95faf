package lkg

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadCopy: a copy file may hold anything (a killed writer, a careless
// user, an attacker with access to the directory). ReadCopy returns an
// error or a record for the expected environment, which WriteCopy writes
// back so that it reads the same.
func FuzzReadCopy(f *testing.F) {
	for _, seed := range []string{
		`{"format":1,"project":"shop","environment":"production","version":7,"client":"eyJhbGciOiJFZERTQSJ9.e30.c2ln","etag":"\"9f2c\""}`,
		`{"format":1,"project":"shop","environment":"production","version":7,"server":"a.b.c","client":"d.e.f"}`,
		`{"format":1,"project":"shop","environment":"production","version":7}`,
		`{"format":1,"project":"shop","environment":"production","version":7,"version":8}`,
		`{"format":1,"project":"shop","environment":"production","version":7}trailing`,
		`{"format":1,"project":"shop","environment":"production","version":7,"extra":true}`,
		`{"format":1,"project":"sh`, ``,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "copy.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := ReadCopy(p, "shop", "production")
		if err != nil {
			return
		}
		if c.Format != Format || c.Project != "shop" || c.Environment != "production" {
			t.Fatalf("accepted %+v", c)
		}
		if _, err := ReadFloor(p, "shop", "production"); err == nil && (c.Server != "" || c.Client != "" || c.ETag != "") {
			t.Fatal("a copy with bundles read as a floor")
		}
		q := filepath.Join(dir, "again.json")
		if err := WriteCopy(q, *c); err != nil {
			t.Fatal(err)
		}
		d, err := ReadCopy(q, "shop", "production")
		if err != nil || *d != *c {
			t.Fatalf("round trip: %+v, %v; want %+v", d, err, c)
		}
	})
}
