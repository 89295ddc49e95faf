package config

import (
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

var experimentFields = []string{"flag", "environment", "control", "treatments", "conversions", "start", "end", "minimumSample"}

// experiment reads one entry of `experiments:`. Whether the flag,
// environment and variants exist is lint's business (publisher/compile).
func (p *parser) experiment(e kv) *Experiment {
	key := e.key.Value
	path := "experiments." + key
	x := &Experiment{Key: key, Pos: p.pos(e.key), MinimumSample: DefaultMinimumSample}
	if key == "" {
		p.errf(e.key, "experiments", "experiment key must not be empty")
	}
	f := p.mapping(e.val, path, experimentFields)
	if f == nil {
		return x
	}
	ref := func(field string, dst *Ref) {
		v, ok := f[field]
		if !ok {
			p.errf(e.key, path+"."+field, "missing")
			return
		}
		if s, ok := p.name(v.val, path+"."+field); ok {
			*dst = Ref{Name: s, Pos: p.pos(v.val)}
		}
	}
	ref("flag", &x.Flag)
	ref("environment", &x.Environment)
	ref("control", &x.Control)
	refs := func(field string, dst *[]Ref, at *Pos) {
		v, ok := f[field]
		if !ok {
			p.errf(e.key, path+"."+field, "missing")
			return
		}
		*at = p.pos(v.val)
		*dst = p.strList(v.val, path+"."+field)
		if len(*dst) == 0 {
			p.errf(v.val, path+"."+field, "must list at least one")
		}
	}
	refs("treatments", &x.Treatments, &x.TreatmentsPos)
	refs("conversions", &x.Conversions, &x.ConversionsPos)
	when := func(field string, dst *time.Time, at *Pos) {
		v, ok := f[field]
		if !ok {
			p.errf(e.key, path+"."+field, "missing (an RFC 3339 time, e.g. 2026-12-01T00:00:00Z)")
			return
		}
		*at = p.pos(v.val)
		if s, ok := p.str(v.val, path+"."+field); ok {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				p.errf(v.val, path+"."+field, "expected an RFC 3339 time with a zone, e.g. 2026-12-01T00:00:00Z, got %q", s)
				return
			}
			*dst = t.UTC()
		}
	}
	when("start", &x.Start, &x.StartPos)
	when("end", &x.End, &x.EndPos)
	if v, ok := f["minimumSample"]; ok {
		x.MinimumSamplePos = p.pos(v.val)
		n := deref(v.val)
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil || i < 0 || i > 1e9 {
			p.errf(v.val, path+".minimumSample", "expected a whole number of units from 0 to 1000000000, got %s", kindName(n))
		} else {
			x.MinimumSample = i
		}
	}
	return x
}
