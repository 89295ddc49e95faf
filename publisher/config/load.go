package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// File is one config file's name (as it should appear in diagnostics) and
// content.
type File struct {
	Name string
	Data []byte
}

// maxValueNodes bounds how many YAML nodes one variant value may expand to
// (aliases can otherwise multiply a small file into a huge value).
const maxValueNodes = 100000

// Load reads every *.yaml, *.yml and *.json file directly in dir (not in
// subdirectories), in name order, and merges them. It always returns a
// Document (partial when there are errors) and every problem found; the
// document is usable for building only when !diags.HasErrors().
func Load(dir string) (*Document, Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		var ds Diagnostics
		ds.Add(Pos{File: dir}, "", "read config directory: %v", err)
		return &Document{}, ds
	}
	var files []File
	var ds Diagnostics
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			ds.Add(Pos{File: p}, "", "read config file: %v", err)
			continue
		}
		files = append(files, File{Name: p, Data: data})
	}
	if len(files) == 0 && len(ds) == 0 {
		ds.Add(Pos{File: dir}, "", "no *.yaml, *.yml or *.json files")
	}
	doc, more := Parse(files)
	ds = append(ds, more...)
	ds.Sort()
	return doc, ds
}

// Parse merges the given files (sorted by name first) into one Document.
func Parse(files []File) (*Document, Diagnostics) {
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	m := &merger{doc: &Document{}, flags: map[string]*Flag{}, segs: map[string]*Segment{}, hooks: map[string]*Webhook{}}
	for _, f := range files {
		m.doc.Files = append(m.doc.Files, f.Name)
		p := &parser{src: newSource(f.Name, f.Data), diags: &m.diags}
		p.file(m)
	}
	m.finish()
	m.diags.Sort()
	return m.doc, m.diags
}

// merger accumulates files into one Document.
type merger struct {
	doc   *Document
	diags Diagnostics

	projectSet bool
	envsPos    Pos
	envsSet    bool
	ctxPos     Pos
	ctxSet     bool

	flags map[string]*Flag
	segs  map[string]*Segment
	hooks map[string]*Webhook
}

func (m *merger) finish() {
	d := m.doc
	sort.Slice(d.Flags, func(i, j int) bool { return d.Flags[i].Key < d.Flags[j].Key })
	sort.Slice(d.Segments, func(i, j int) bool { return d.Segments[i].Name < d.Segments[j].Name })
	sort.Slice(d.Webhooks, func(i, j int) bool { return d.Webhooks[i].Name < d.Webhooks[j].Name })
	if !m.projectSet {
		pos := Pos{}
		if len(d.Files) > 0 {
			pos = Pos{File: d.Files[0], Line: 1, Col: 1}
		}
		m.diags.Add(pos, "project", "missing: no file sets `project:`")
	}
	if !m.envsSet {
		pos := Pos{}
		if len(d.Files) > 0 {
			pos = Pos{File: d.Files[0], Line: 1, Col: 1}
		}
		m.diags.Add(pos, "environments", "missing: no file lists `environments:`")
	}
}

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

func (p *parser) file(m *merger) {
	dec := yaml.NewDecoder(bytes.NewReader(p.src.data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return // empty file
		}
		p.syntaxError(err)
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errf(&extra, "", "a config file holds one YAML document; found another")
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	fields := p.mapping(n, "", []string{"project", "environments", "context", "segments", "flags", "webhooks"})
	if fields == nil {
		return
	}
	if f, ok := fields["project"]; ok {
		if name, ok := p.str(f.val, "project"); ok {
			p.checkName(f.val, "project", name)
			if !m.projectSet {
				m.projectSet, m.doc.Project, m.doc.ProjectPos = true, name, p.pos(f.val)
			} else if name != m.doc.Project {
				p.errf(f.val, "project", "%q differs from %q given at %s (it may appear in several files only if identical)", name, m.doc.Project, m.doc.ProjectPos)
			}
		}
	}
	if f, ok := fields["environments"]; ok {
		envs := p.environments(f.val)
		if !m.envsSet {
			m.envsSet, m.envsPos, m.doc.Environments = true, p.pos(f.key), envs
		} else if !sameEnvs(envs, m.doc.Environments) {
			p.errf(f.key, "environments", "differs from the environments given at %s (they may appear in several files only if identical)", m.envsPos)
		}
	}
	if f, ok := fields["context"]; ok {
		attrs := p.context(f.val)
		if !m.ctxSet {
			m.ctxSet, m.ctxPos, m.doc.Context, m.doc.HasContext = true, p.pos(f.key), attrs, true
		} else if !sameAttrs(attrs, m.doc.Context) {
			p.errf(f.key, "context", "differs from the context given at %s (it may appear in several files only if identical)", m.ctxPos)
		}
	}
	if f, ok := fields["segments"]; ok {
		for _, kv := range p.entries(f.val, "segments") {
			s := p.segment(kv)
			if prev, dup := m.segs[s.Name]; dup {
				p.errf(kv.key, "segments."+s.Name, "segment %q defined in %s and %s", s.Name, prev.Pos, s.Pos)
				continue
			}
			m.segs[s.Name] = s
			m.doc.Segments = append(m.doc.Segments, s)
		}
	}
	if f, ok := fields["flags"]; ok {
		for _, kv := range p.entries(f.val, "flags") {
			fl := p.flag(kv)
			if prev, dup := m.flags[fl.Key]; dup {
				p.errf(kv.key, "flags."+fl.Key, "flag %q defined in %s and %s", fl.Key, prev.Pos, fl.Pos)
				continue
			}
			m.flags[fl.Key] = fl
			m.doc.Flags = append(m.doc.Flags, fl)
		}
	}
	if f, ok := fields["webhooks"]; ok {
		for i, item := range p.list(f.val, "webhooks") {
			w := p.webhook(item, fmt.Sprintf("webhooks[%d]", i))
			if w == nil {
				continue
			}
			if prev, dup := m.hooks[w.Name]; dup {
				p.errf(item, fmt.Sprintf("webhooks[%d]", i), "webhook %q defined in %s and %s", w.Name, prev.Pos, w.Pos)
				continue
			}
			m.hooks[w.Name] = w
			m.doc.Webhooks = append(m.doc.Webhooks, w)
		}
	}
}

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

func (p *parser) environments(n *yaml.Node) []*Environment {
	var out []*Environment
	seen := map[string]Pos{}
	for i, item := range p.list(n, "environments") {
		path := fmt.Sprintf("environments[%d]", i)
		e := &Environment{Pos: p.pos(item), BundleTTL: DefaultBundleTTL}
		if item.Kind == yaml.ScalarNode {
			s, ok := p.name(item, path)
			if !ok {
				continue
			}
			e.Name = s
		} else {
			f := p.mapping(item, path, []string{"name", "protected", "bundleTTL"})
			if f == nil {
				continue
			}
			nf, ok := f["name"]
			if !ok {
				p.errf(item, path+".name", "missing")
				continue
			}
			s, ok := p.name(nf.val, path+".name")
			if !ok {
				continue
			}
			e.Name = s
			if v, ok := f["protected"]; ok {
				e.Protected, _ = p.boolean(v.val, path+".protected")
			}
			if v, ok := f["bundleTTL"]; ok {
				if s, ok := p.str(v.val, path+".bundleTTL"); ok {
					d, err := time.ParseDuration(s)
					switch {
					case err != nil:
						p.errf(v.val, path+".bundleTTL", "invalid duration %q (use Go syntax, e.g. 720h or 90m)", s)
					case d <= 0:
						p.errf(v.val, path+".bundleTTL", "must be positive, got %s", s)
					default:
						e.BundleTTL = d
					}
				}
			}
		}
		if prev, dup := seen[e.Name]; dup {
			p.errf(item, path, "environment %q listed twice (first at %s)", e.Name, prev)
			continue
		}
		seen[e.Name] = e.Pos
		out = append(out, e)
	}
	return out
}

func sameEnvs(a, b []*Environment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Protected != b[i].Protected || a[i].BundleTTL != b[i].BundleTTL {
			return false
		}
	}
	return true
}

var attrTypes = []string{"string", "number", "bool", "boolean", "semver", "timestamp", "list", "dyn"}

func (p *parser) context(n *yaml.Node) []*Attribute {
	var out []*Attribute
	for _, e := range p.entries(n, "context") {
		path := join("context", e.key.Value)
		if e.key.Value == "" {
			p.errf(e.key, "context", "attribute name must not be empty")
			continue
		}
		s, ok := p.str(e.val, path)
		if !ok {
			continue
		}
		var t AttrType
		switch s {
		case "string", "number", "semver", "timestamp", "list", "dyn":
			t = AttrType(s)
		case "bool", "boolean":
			t = AttrBool
		default:
			p.errf(e.val, path, "unknown type %q (one of string, number, bool, semver, timestamp, list, dyn)%s", s, DidYouMean(s, attrTypes))
			continue
		}
		out = append(out, &Attribute{Name: e.key.Value, Type: t, Pos: p.pos(e.key)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sameAttrs(a, b []*Attribute) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
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

func (p *parser) segment(e kv) *Segment {
	name := e.key.Value
	path := "segments." + name
	s := &Segment{Name: name, Pos: p.pos(e.key), Attribute: "targetingKey"}
	if name == "" {
		p.errf(e.key, "segments", "segment name must not be empty")
	}
	f := p.mapping(e.val, path, []string{"when", "attribute", "keys"})
	if f == nil {
		return s
	}
	if v, ok := f["when"]; ok {
		s.When = p.expr(v.val, path+".when")
	}
	if v, ok := f["attribute"]; ok {
		if a, ok := p.name(v.val, path+".attribute"); ok {
			s.Attribute, s.AttributePos = a, p.pos(v.val)
		}
		if _, ok := f["keys"]; !ok {
			p.errf(v.key, path+".attribute", "only meaningful with `keys:`")
		}
	}
	if v, ok := f["keys"]; ok {
		s.HasKeys, s.KeysPos = true, p.pos(v.val)
		for _, r := range p.strList(v.val, path+".keys") {
			s.Keys = append(s.Keys, r.Name)
		}
	}
	if _, ok := f["when"]; !ok && !s.HasKeys {
		p.errf(e.key, path, "a segment needs `when:` or `keys:`")
	}
	return s
}

var flagFields = []string{"type", "description", "owner", "expires", "status", "clientSide", "variants", "defaultVariant", "offVariant", "environments"}

func (p *parser) flag(e kv) *Flag {
	key := e.key.Value
	path := "flags." + key
	fl := &Flag{Key: key, Pos: p.pos(e.key), Status: StatusActive}
	if key == "" {
		p.errf(e.key, "flags", "flag key must not be empty")
	}
	f := p.mapping(e.val, path, flagFields)
	if f == nil {
		return fl
	}
	if v, ok := f["type"]; ok {
		fl.TypePos = p.pos(v.val)
		if s, ok := p.str(v.val, path+".type"); ok {
			if t, ok := ir.ParseFlagType(s); ok {
				fl.Type = t
			} else {
				p.errf(v.val, path+".type", "unknown type %q (one of boolean, string, number, object)%s", s, DidYouMean(s, ir.FlagTypeNames()))
			}
		}
	} else {
		p.errf(e.key, path+".type", "missing (one of boolean, string, number, object)")
	}
	if v, ok := f["description"]; ok {
		fl.Description, _ = p.str(v.val, path+".description")
	}
	if v, ok := f["owner"]; ok {
		fl.Owner, _ = p.str(v.val, path+".owner")
	}
	if v, ok := f["expires"]; ok {
		fl.ExpiresPos = p.pos(v.val)
		if s, ok := p.str(v.val, path+".expires"); ok {
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				p.errf(v.val, path+".expires", "expected a date YYYY-MM-DD, got %q", s)
			} else {
				fl.Expires = t
			}
		}
	}
	if v, ok := f["status"]; ok {
		fl.StatusPos = p.pos(v.val)
		if s, ok := p.str(v.val, path+".status"); ok {
			switch Status(s) {
			case StatusActive, StatusDraft, StatusArchived:
				fl.Status = Status(s)
			default:
				p.errf(v.val, path+".status", "unknown status %q (one of active, draft, archived)%s", s, DidYouMean(s, []string{"active", "draft", "archived"}))
			}
		}
	}
	if v, ok := f["clientSide"]; ok {
		fl.ClientSide, _ = p.boolean(v.val, path+".clientSide")
	}
	if v, ok := f["variants"]; ok {
		fl.VariantsPos = p.pos(v.val)
		if fl.Type != 0 {
			for _, ve := range p.entries(v.val, path+".variants") {
				vp := join(path+".variants", ve.key.Value)
				if ve.key.Value == "" {
					p.errf(ve.key, path+".variants", "variant name must not be empty")
					continue
				}
				val, ok := p.value(ve.val, vp, fl.Type)
				if !ok {
					continue
				}
				fl.Variants = append(fl.Variants, &Variant{Name: ve.key.Value, Pos: p.pos(ve.key), Value: val})
			}
			if len(fl.Variants) == 0 && len(p.entries(v.val, "")) == 0 {
				p.errf(v.val, path+".variants", "a flag needs at least one variant")
			}
		}
	} else if fl.Type == ir.TypeBoolean {
		fl.ImplicitVariants = true
		fl.VariantsPos = fl.Pos
		fl.Variants = []*Variant{
			{Name: "on", Pos: fl.Pos, Value: []byte("true")},
			{Name: "off", Pos: fl.Pos, Value: []byte("false")},
		}
	} else if fl.Type != 0 {
		p.errf(e.key, path+".variants", "missing (only boolean flags have implicit variants on/off)")
	}
	if v, ok := f["defaultVariant"]; ok {
		if s, ok := p.name(v.val, path+".defaultVariant"); ok {
			fl.DefaultVariant = Ref{Name: s, Pos: p.pos(v.val)}
		}
	} else if fl.Type == ir.TypeBoolean {
		fl.DefaultVariant = Ref{Name: "off", Pos: fl.Pos}
	} else if fl.Type != 0 {
		p.errf(e.key, path+".defaultVariant", "missing (required for %s flags)", fl.Type)
	}
	if v, ok := f["offVariant"]; ok {
		if s, ok := p.name(v.val, path+".offVariant"); ok {
			fl.OffVariant = Ref{Name: s, Pos: p.pos(v.val)}
		}
	}
	if v, ok := f["environments"]; ok {
		fl.EnvironmentsPos = p.pos(v.val)
		for _, ee := range p.entries(v.val, path+".environments") {
			fl.Environments = append(fl.Environments, p.flagEnv(ee, path+".environments."+ee.key.Value))
		}
	}
	return fl
}

// value converts a variant value to canonical JSON, checking it against the
// flag type.
func (p *parser) value(n *yaml.Node, path string, t ir.FlagType) ([]byte, bool) {
	n = deref(n)
	want := map[ir.FlagType]string{ir.TypeBoolean: "!!bool", ir.TypeString: "!!str", ir.TypeNumber: "number"}[t]
	if want != "" {
		tag := n.ShortTag()
		if n.Kind == yaml.ScalarNode && tag == "!!timestamp" {
			tag = "!!str"
		}
		ok := n.Kind == yaml.ScalarNode && (tag == want || (want == "number" && (tag == "!!int" || tag == "!!float")))
		if !ok {
			p.errf(n, path, "expected a %s value for a %s flag, got %s", t, t, kindName(n))
			return nil, false
		}
	}
	if t == ir.TypeObject && n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		// OpenFeature object flags carry structures; a scalar belongs in a
		// typed flag, and the bundle validator refuses it.
		p.errf(n, path, "expected a mapping or a list for an object flag, got %s", kindName(n))
		return nil, false
	}
	budget := maxValueNodes
	v, err := toValue(n, &budget)
	if err != nil {
		p.errf(n, path, "%v", err)
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.errf(n, path, "encode value: %v", err)
		return nil, false
	}
	return b, true
}

// toValue converts a YAML node to the Go value encoding/json marshals
// canonically (maps with sorted keys, float64 numbers).
func toValue(n *yaml.Node, budget *int) (any, error) {
	n = deref(n)
	*budget--
	if *budget < 0 {
		return nil, errors.New("value too large (aliases expand to over 100000 nodes)")
	}
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
			v, err := toValue(n.Content[i+1], budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toValue(c, budget)
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

func (p *parser) flagEnv(e kv, path string) *FlagEnv {
	fe := &FlagEnv{Name: e.key.Value, Pos: p.pos(e.key), Enabled: true}
	f := p.mapping(e.val, path, []string{"enabled", "rules", "default"})
	if f == nil {
		return fe
	}
	if v, ok := f["enabled"]; ok {
		if b, ok := p.boolean(v.val, path+".enabled"); ok {
			fe.Enabled = b
		}
	}
	if v, ok := f["rules"]; ok {
		for i, item := range p.list(v.val, path+".rules") {
			fe.Rules = append(fe.Rules, p.rule(item, fmt.Sprintf("%s.rules[%d]", path, i)))
		}
	}
	if v, ok := f["default"]; ok {
		df := p.mapping(v.val, path+".default", []string{"serve", "split", "bucketBy"})
		if df != nil {
			s := p.serve(v.val, df, path+".default")
			fe.Default = &s
		}
	}
	return fe
}

func (p *parser) rule(n *yaml.Node, path string) *Rule {
	r := &Rule{Pos: p.pos(n)}
	f := p.mapping(n, path, []string{"name", "when", "serve", "split", "bucketBy"})
	if f == nil {
		return r
	}
	if v, ok := f["name"]; ok {
		if s, ok := p.name(v.val, path+".name"); ok {
			r.Name, r.NamePos = s, p.pos(v.val)
		}
	}
	if v, ok := f["when"]; ok {
		r.When = p.expr(v.val, path+".when")
	} else {
		p.errf(n, path+".when", "missing (a rule needs a condition; use `default:` for the fallback)")
	}
	r.Serve = p.serve(n, f, path)
	return r
}

// serve reads serve/split/bucketBy from a rule or default mapping.
func (p *parser) serve(n *yaml.Node, f map[string]kv, path string) Serve {
	s := Serve{Pos: p.pos(n)}
	sv, hasServe := f["serve"]
	sp, hasSplit := f["split"]
	switch {
	case hasServe && hasSplit:
		p.errf(sp.key, path+".split", "give either `serve:` or `split:`, not both")
	case !hasServe && !hasSplit:
		p.errf(n, path, "missing `serve:` or `split:`")
	}
	if hasServe {
		if name, ok := p.name(sv.val, path+".serve"); ok {
			s.Variant = Ref{Name: name, Pos: p.pos(sv.val)}
		}
	}
	if hasSplit && !hasServe {
		s.SplitPos = p.pos(sp.val)
		for _, e := range p.entries(sp.val, path+".split") {
			wp := join(path+".split", e.key.Value)
			w := deref(e.val)
			if w.Kind != yaml.ScalarNode || w.ShortTag() != "!!int" {
				p.errf(w, wp, "expected an integer weight, got %s", kindName(w))
				continue
			}
			i, err := strconv.ParseInt(strings.ReplaceAll(w.Value, "_", ""), 0, 64)
			if err != nil || i > math.MaxUint32 || i < -math.MaxUint32 {
				p.errf(w, wp, "weight %s out of range (0..%d)", w.Value, uint32(math.MaxUint32))
				continue
			}
			s.Split = append(s.Split, &Weight{Variant: e.key.Value, Pos: p.pos(e.key), Weight: i})
		}
		if len(s.Split) == 0 && len(p.entries(sp.val, "")) == 0 {
			p.errf(sp.val, path+".split", "a split needs at least one variant")
		}
	}
	if v, ok := f["bucketBy"]; ok {
		if name, ok := p.name(v.val, path+".bucketBy"); ok {
			s.BucketBy, s.BucketByPos = name, p.pos(v.val)
		}
		if !hasSplit {
			p.errf(v.key, path+".bucketBy", "only meaningful with `split:`")
		}
	}
	return s
}

func (p *parser) webhook(n *yaml.Node, path string) *Webhook {
	f := p.mapping(n, path, []string{"name", "url", "secret", "events", "environments"})
	if f == nil {
		return nil
	}
	w := &Webhook{Pos: p.pos(n)}
	if v, ok := f["name"]; ok {
		w.Name, _ = p.name(v.val, path+".name")
	} else {
		p.errf(n, path+".name", "missing")
	}
	if v, ok := f["url"]; ok {
		if s, ok := p.str(v.val, path+".url"); ok {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				p.errf(v.val, path+".url", "expected an absolute http(s) URL, got %q", s)
			} else {
				w.URL = s
			}
		}
	} else {
		p.errf(n, path+".url", "missing")
	}
	if v, ok := f["secret"]; ok {
		if s, ok := p.str(v.val, path+".secret"); ok {
			ref, rest, found := strings.Cut(s, ":")
			if !found || (ref != "env" && ref != "file") || rest == "" {
				p.errf(v.val, path+".secret", "expected a secret reference env:NAME or file:PATH (secrets are never written inline)")
			} else {
				w.Secret = s
			}
		}
	} else {
		p.errf(n, path+".secret", "missing (env:NAME or file:PATH)")
	}
	if v, ok := f["events"]; ok {
		for _, r := range p.strList(v.val, path+".events") {
			if r.Name != "publish" && r.Name != "rollback" {
				p.diags.Add(r.Pos, path+".events", "unknown event %q (one of publish, rollback)%s", r.Name, DidYouMean(r.Name, WebhookEvents))
				continue
			}
			w.Events = append(w.Events, r.Name)
		}
	} else {
		w.Events = append([]string(nil), WebhookEvents...)
	}
	if v, ok := f["environments"]; ok {
		w.EnvironmentsPos = p.pos(v.val)
		w.Environments = p.strList(v.val, path+".environments")
	}
	return w
}
