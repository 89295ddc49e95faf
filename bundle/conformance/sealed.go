package conformance

// The sealed corpus' manifest (README.md "Sealed corpus"), shared by its
// generator (sealed_test.go) and by others that write the same layout
// (the wasm differential fixture, wasm/internal/diffgen).

// SealedManifest is testdata/sealed/manifest.json.
type SealedManifest struct {
	Description string        `json:"description"`
	JWKS        string        `json:"jwks"`
	Version     uint64        `json:"version"`
	IssuedAt    string        `json:"issuedAt"`
	ExpiresAt   string        `json:"expiresAt"`
	OpenAt      string        `json:"openAt"`
	Suites      []SealedSuite `json:"suites"`
}

// SealedSuite names one corpus file's sealed bundle and native results.
type SealedSuite struct {
	Suite       string `json:"suite"`
	Bundle      string `json:"bundle"`
	Native      string `json:"native"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Audience    string `json:"audience"`
	Cases       int    `json:"cases"`
}
