package config

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a config file: 1-based line and column (columns
// count Unicode code points, as yaml.v3 does). The zero Pos means "no
// position" (for example a default that no file spelled out); a Pos with a
// File and Line 0 names a whole file.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	if p.File == "" {
		return "<config>"
	}
	if p.Line == 0 {
		return p.File // a problem with the whole file
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Before reports whether p sorts before q (by file, line, column).
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity is how serious a diagnostic is.
type Severity uint8

// Severities.
const (
	// SeverityError makes validation fail and blocks building.
	SeverityError Severity = iota
	// SeverityWarning is reported but does not fail validation (unless the
	// caller asks for strictness, which turns chosen warnings into errors).
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a config directory.
type Diagnostic struct {
	Pos      Pos
	Path     string // field path, e.g. flags.new-checkout.environments.production.rules[0].when
	Severity Severity
	Msg      string
}

// String formats the diagnostic as "file:line:col: path: message", with
// "warning: " before the message for warnings.
func (d Diagnostic) String() string {
	var sb strings.Builder
	sb.WriteString(d.Pos.String())
	sb.WriteString(": ")
	if d.Path != "" {
		sb.WriteString(d.Path)
		sb.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		sb.WriteString("warning: ")
	}
	sb.WriteString(d.Msg)
	return sb.String()
}

// Diagnostics is a list of problems. Its Error method makes a non-empty
// list usable as an error.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the error-severity diagnostics.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders the diagnostics by file, line, column, then path and message,
// and drops exact duplicates.
func (ds *Diagnostics) Sort() {
	s := *ds
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Pos != b.Pos {
			return a.Pos.Before(b.Pos)
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
	out := s[:0]
	for i, d := range s {
		if i > 0 && d == s[i-1] {
			continue
		}
		out = append(out, d)
	}
	*ds = out
}

// Error joins the diagnostics one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Add appends an error diagnostic.
func (ds *Diagnostics) Add(pos Pos, path, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Path: path, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)})
}

// Warn appends a warning diagnostic.
func (ds *Diagnostics) Warn(pos Pos, path, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Path: path, Severity: SeverityWarning, Msg: fmt.Sprintf(format, args...)})
}

// Suggest returns the candidate closest to s by edit distance, or "" when
// none is close enough to be a plausible typo.
func Suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD < 0 || bestD > limit || bestD >= len(s) {
		return ""
	}
	return best
}

// DidYouMean formats a "; did you mean %q?" suffix, or "" without a
// suggestion.
func DidYouMean(s string, candidates []string) string {
	if m := Suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
