package ir

import "testing"

// TestParseNamesRoundTrip checks that the one parser of audience and flag
// type names accepts exactly what String prints, and nothing else.
func TestParseNamesRoundTrip(t *testing.T) {
	for _, a := range []Audience{AudienceServer, AudienceClient} {
		got, ok := ParseAudience(a.String())
		if !ok || got != a {
			t.Errorf("ParseAudience(%q) = %v, %v; want %v", a.String(), got, ok, a)
		}
	}
	names := FlagTypeNames()
	for i, ty := range []FlagType{TypeBoolean, TypeString, TypeNumber, TypeObject} {
		if names[i] != ty.String() {
			t.Errorf("FlagTypeNames()[%d] = %q, want %q", i, names[i], ty.String())
		}
		got, ok := ParseFlagType(ty.String())
		if !ok || got != ty {
			t.Errorf("ParseFlagType(%q) = %v, %v; want %v", ty.String(), got, ok, ty)
		}
	}
	for _, bad := range []string{"", "Server", "server ", "invalid", "both"} {
		if _, ok := ParseAudience(bad); ok {
			t.Errorf("ParseAudience(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "Boolean", "bool", "int", "invalid", "json"} {
		if _, ok := ParseFlagType(bad); ok {
			t.Errorf("ParseFlagType(%q) accepted", bad)
		}
	}
	names[0] = "changed"
	if FlagTypeNames()[0] != "boolean" {
		t.Error("FlagTypeNames returns a shared slice")
	}
}
