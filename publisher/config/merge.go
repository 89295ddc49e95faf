package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"gopkg.in/yaml.v3"
)

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
	exps  map[string]*Experiment

	// budget is shared by every file of the directory.
	budget *budget
}

func (m *merger) finish() {
	d := m.doc
	sort.Slice(d.Flags, func(i, j int) bool { return d.Flags[i].Key < d.Flags[j].Key })
	sort.Slice(d.Segments, func(i, j int) bool { return d.Segments[i].Name < d.Segments[j].Name })
	sort.Slice(d.Webhooks, func(i, j int) bool { return d.Webhooks[i].Name < d.Webhooks[j].Name })
	sort.Slice(d.Experiments, func(i, j int) bool { return d.Experiments[i].Key < d.Experiments[j].Key })
	if m.budget.spent {
		return // files were left unread: what they lack is unknown
	}
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
	if !p.charge(&root, m.budget) {
		return
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	fields := p.mapping(n, "", []string{"project", "environments", "context", "segments", "flags", "webhooks", "experiments"})
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
	if f, ok := fields["experiments"]; ok {
		for _, kv := range p.entries(f.val, "experiments") {
			x := p.experiment(kv)
			if prev, dup := m.exps[x.Key]; dup {
				p.errf(kv.key, "experiments."+x.Key, "experiment %q defined in %s and %s", x.Key, prev.Pos, x.Pos)
				continue
			}
			m.exps[x.Key] = x
			m.doc.Experiments = append(m.doc.Experiments, x)
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
