// Package check loads the edgeflag CloudFormation templates and checks the
// invariants that AWS's validator does not: what runs at the edge, the
// signing key, least privilege, public access, the function URL's auth and
// the wiring of edgefn's configuration. The tests in this package run every
// invariant on the real templates and on copies that break it.
package check

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed CloudFormation template. Values are plain Go values:
// map[string]any, []any, string, bool, int, float64 and nil. Short-form
// intrinsic functions become their long form: !Ref X is {"Ref": "X"},
// !GetAtt A.B is {"Fn::GetAtt": ["A", "B"]}, !Sub s is {"Fn::Sub": s}.
type Template struct {
	Path string
	Root map[string]any
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

// Parse parses a YAML template. Duplicate keys, anchors and aliases and
// unknown tags are errors.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("parse template: want one YAML document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: top level is not a mapping")
	}
	return &Template{Root: root}, nil
}

// intrinsics are the short-form tags CloudFormation accepts.
var intrinsics = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
	"!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!Join": "Fn::Join", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr",
}

func convert(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return nil, fmt.Errorf("line %d: anchors and aliases are not allowed", n.Line)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				return nil, fmt.Errorf("line %d: mapping keys must be plain scalars", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!!") {
			if err := n.Decode(&v); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
		} else {
			v = n.Value
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
		return v, nil
	}
	fn, ok := intrinsics[n.Tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	if s, isStr := v.(string); isStr && fn == "Fn::GetAtt" {
		res, attr, found := strings.Cut(s, ".")
		if !found {
			return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
		}
		v = []any{res, attr}
	}
	return map[string]any{fn: v}, nil
}

// Resource is one entry of the Resources section.
type Resource struct {
	ID         string
	Type       string
	Properties map[string]any
	Raw        map[string]any
}

// Resources returns the resources of type typ (all when typ is ""), sorted
// by logical id.
func (t *Template) Resources(typ string) []Resource {
	rs, _ := t.Root["Resources"].(map[string]any)
	var out []Resource
	for _, id := range sortedKeys(rs) {
		raw, _ := rs[id].(map[string]any)
		rt, _ := raw["Type"].(string)
		if typ != "" && rt != typ {
			continue
		}
		props, _ := raw["Properties"].(map[string]any)
		out = append(out, Resource{ID: id, Type: rt, Properties: props, Raw: raw})
	}
	return out
}

// Resource returns the resource with logical id id.
func (t *Template) Resource(id string) (Resource, bool) {
	for _, r := range t.Resources("") {
		if r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// Parameters returns the Parameters section.
func (t *Template) Parameters() map[string]any {
	ps, _ := t.Root["Parameters"].(map[string]any)
	return ps
}

// Get follows a path of map keys (and decimal list indexes) from v.
func Get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// List returns v as a list: a list as is, nil as empty, anything else as a
// one-element list (IAM accepts a string where it accepts a list).
func List(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// Text renders a value for pattern checks: a string as is, a !Sub as its
// template string, !Ref X as ${X}, !GetAtt A.B as ${A.B}; anything else as
// "" (not a plain text).
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if len(x) != 1 {
			return ""
		}
		if r, ok := x["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("${%v.%v}", ga[0], ga[1])
		}
		switch s := x["Fn::Sub"].(type) {
		case string:
			return s
		case []any:
			if len(s) == 2 {
				str, _ := s[0].(string)
				return str
			}
		}
	}
	return ""
}

// RefTarget returns the logical id that v references with !Ref or !GetAtt.
func RefTarget(v any) string {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

// Clone returns a deep copy of t, for tests that break a copy.
func (t *Template) Clone() *Template {
	return &Template{Path: t.Path, Root: deepCopy(t.Root).(map[string]any)}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
