package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parser reads one file.
type parser struct {
	src   *source
	diags *Diagnostics
}

func (p *parser) pos(n *yaml.Node) Pos {
	return Pos{File: p.src.name, Line: n.Line, Col: n.Column}
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) {
	p.diags.Add(p.pos(n), path, format, args...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	line := 1
	if mm := yamlLineRE.FindStringSubmatch(msg); mm != nil {
		line, _ = strconv.Atoi(mm[1])
		msg = mm[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.diags.Add(Pos{File: p.src.name, Line: line, Col: 1}, "", "syntax error: %s", msg)
}

// kv is one mapping entry.
type kv struct{ key, val *yaml.Node }

// deref resolves aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 100 && n != nil && n.Kind == yaml.AliasNode; i++ {
		n = n.Alias
	}
	return n
}

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!timestamp":
			return "a date"
		}
		return "a string"
	}
	return "an unsupported YAML node"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// entries returns a mapping's entries in order, reporting duplicate keys
// and non-string keys.
func (p *parser) entries(n *yaml.Node, path string) []kv {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return nil
		}
		p.errf(n, path, "expected a mapping, got %s", kindName(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	var out []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, path, "mapping keys must be strings, got %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.errf(k, path, "merge keys (<<) are not supported")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.errf(k, join(path, k.Value), "duplicate key (first at %s)", p.pos(prev))
			continue
		}
		seen[k.Value] = k
		out = append(out, kv{k, v})
	}
	return out
}

// mapping returns a mapping's fields by name, reporting unknown fields with
// a suggestion. It returns nil when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, path string, allowed []string) map[string]kv {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, path, "expected a mapping, got %s", kindName(n))
		return nil
	}
	out := map[string]kv{}
	for _, e := range p.entries(n, path) {
		known := false
		for _, a := range allowed {
			if a == e.key.Value {
				known = true
				break
			}
		}
		if !known {
			p.errf(e.key, join(path, e.key.Value), "unknown field%s", DidYouMean(e.key.Value, allowed))
			continue
		}
		out[e.key.Value] = e
	}
	return out
}

// list returns a sequence's items (nil, after a diagnostic, when n is not a
// list; nil silently for null).
func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if n.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = deref(c)
		}
		return out
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	p.errf(n, path, "expected a list, got %s", kindName(n))
	return nil
}

// str reads a string scalar (plain, quoted or block; numbers and booleans
// are refused so that `owner: 123` is noticed).
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		p.errf(n, path, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// name reads a name scalar: a string, or for convenience a plain number or
// boolean spelled as written (variant names like `on`, `1`).
func (p *parser) name(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errf(n, path, "expected a name, got %s", kindName(n))
		return "", false
	}
	if n.Value == "" {
		p.errf(n, path, "must not be empty")
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errf(n, path, "expected true or false, got %s", kindName(n))
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		p.errf(n, path, "expected true or false, got %q", n.Value)
		return false, false
	}
	return b, true
}

func (p *parser) strList(n *yaml.Node, path string) []Ref {
	var out []Ref
	for i, item := range p.list(n, path) {
		if s, ok := p.name(item, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, Ref{Name: s, Pos: p.pos(item)})
		}
	}
	return out
}

// checkName reports names that are empty; the URL-safe charset is a lint
// rule (publisher/compile) so that loading stays lenient.
func (p *parser) checkName(n *yaml.Node, path, s string) {
	if s == "" {
		p.errf(n, path, "must not be empty")
	}
}

// expr reads an expression scalar.
func (p *parser) expr(n *yaml.Node, path string) *Expr {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errf(n, path, "expected an expression string, got %s", kindName(n))
		return nil
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errf(n, path, "expression must not be empty")
		return nil
	}
	return p.src.exprFor(n)
}

// YAMLValue converts a YAML node to the Go value encoding/json marshals
// canonically, exactly as variant values are read (numbers exact within
// ±2^53, finite). The caller must bound the tree first: toValue follows
// aliases and trusts that cycles were refused (the edge packager refuses
// aliases and deep nesting before calling it).
func YAMLValue(n *yaml.Node) (any, error) { return toValue(n) }

// toValue converts a YAML node to the Go value encoding/json marshals
// canonically (maps with sorted keys, float64 numbers). The node tree was
// charged to the directory's budget (Limits) before, which also refused
// alias cycles, so the recursion is bounded.
func toValue(n *yaml.Node) (any, error) {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return nil, fmt.Errorf("line %d: object keys must be strings", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return strconv.ParseBool(n.Value)
		case "!!int", "!!float":
			return number(n.Value)
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("unsupported YAML value")
}

// number parses a YAML number into a float64 that JSON can carry exactly.
func number(s string) (float64, error) {
	clean := strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(clean, 0, 64); err == nil {
		if i > 1<<53 || i < -(1<<53) {
			return 0, fmt.Errorf("integer %s is not exactly representable as a JSON number (beyond ±2^53)", s)
		}
		return float64(i), nil
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("number %s is not a finite JSON number", s)
	}
	return f, nil
}
