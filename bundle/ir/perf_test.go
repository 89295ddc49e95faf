package ir

import (
	"strconv"
	"strings"
)

// codecVariedSet builds n F2-like flags whose rules differ per flag (each
// its own email domain and age threshold), so no two flags have
// identical rule records.
func codecVariedSet(n int) *Bundle {
	b := NewBuilder("shop", "production", AudienceServer)
	for i := 0; i < n; i++ {
		k := strconv.Itoa(i)
		k = "f2_" + strings.Repeat("0", 5-len(k)) + k
		f := codecF2(b, k)
		f.Rules[0].When = b.Node(OpEndsWith, b.AttrNode("email"), b.Str("@"+k+".example.com"))
		f.Rules[2].When = b.Node(OpGe, b.AttrNode("age"), b.Num(float64(18+i%50)))
		b.Bundle.Flags = append(b.Bundle.Flags, f)
	}
	return b.Bundle
}
