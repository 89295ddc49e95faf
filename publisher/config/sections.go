package config

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/internal/redact"
)

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
					case d < time.Second:
						p.errf(v.val, path+".bundleTTL", "must be at least 1s (bundles carry whole seconds, and expire after they are issued), got %s", s)
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
	v, err := toValue(n)
	if err != nil {
		p.errf(n, path, "%v", err)
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.errf(n, path, "encode value: %v", err)
		return nil, false
	}
	// The grammar bundle verifiers check values with (nesting depth
	// included): a value it refuses would make the bundle unopenable.
	if _, err := ir.ParseJSON(b); err != nil {
		p.errf(n, path, "value refused by bundle verifiers: %v", err)
		return nil, false
	}
	return b, true
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
				p.errf(v.val, path+".url", "expected an absolute http(s) URL, got %q", redact.URL(s))
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
			if events := WebhookEvents(); !slices.Contains(events, r.Name) {
				p.diags.Add(r.Pos, path+".events", "unknown event %q (one of %s)%s", r.Name, strings.Join(events, ", "), DidYouMean(r.Name, events))
				continue
			}
			w.Events = append(w.Events, r.Name)
		}
	} else {
		w.Events = WebhookEvents()
	}
	if v, ok := f["environments"]; ok {
		w.EnvironmentsPos = p.pos(v.val)
		w.Environments = p.strList(v.val, path+".environments")
	}
	return w
}
