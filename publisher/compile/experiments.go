package compile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/experiment"
	"github.com/edgeflag/edgeflag/publisher/names"
)

// lintExperiments checks `experiments:` against the flags and the
// environments: the key follows the naming rule; the environment is
// declared; the flag exists and is not archived; control and treatments are
// distinct variants of it; the flag is enabled in the environment and
// served there by a split (a rule's or the default) that weighs every one
// of them; start is before end; conversion names are event names; one
// experiment per flag and environment. With env set, only the
// experiments of env are checked (Build).
func lintExperiments(doc *config.Document, env string, ds *Diagnostics) {
	declared := map[string]bool{}
	var envNames []string
	for _, e := range doc.Environments {
		declared[e.Name] = true
		envNames = append(envNames, e.Name)
	}
	var flagKeys []string
	for _, f := range doc.Flags {
		flagKeys = append(flagKeys, f.Key)
	}
	type flagEnvKey struct{ flag, env string }
	taken := map[flagEnvKey]*config.Experiment{}
	for _, x := range doc.Experiments {
		if env != "" && x.Environment.Name != env {
			continue
		}
		p := "experiments." + x.Key
		if x.Key != "" {
			if err := names.Check(x.Key); err != nil {
				ds.Add(x.Pos, p, "experiment key %q %v", x.Key, err)
			}
		}
		if x.Environment.Name != "" && !declared[x.Environment.Name] {
			ds.Add(x.Environment.Pos, p+".environment", "environment %q is not declared in `environments:`%s", x.Environment.Name, config.DidYouMean(x.Environment.Name, envNames))
		}
		if !x.Start.IsZero() && !x.End.IsZero() && !x.Start.Before(x.End) {
			ds.Add(x.EndPos, p+".end", "end %s is not after start %s", x.End.Format("2006-01-02T15:04:05Z07:00"), x.Start.Format("2006-01-02T15:04:05Z07:00"))
		}
		for i, c := range x.Conversions {
			switch {
			case len(c.Name) > 128:
				ds.Add(c.Pos, fmt.Sprintf("%s.conversions[%d]", p, i), "event name longer than 128 bytes")
			case strings.ContainsAny(c.Name, ","):
				ds.Add(c.Pos, fmt.Sprintf("%s.conversions[%d]", p, i), "event name %q contains a comma", c.Name)
			case strings.IndexFunc(c.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
				ds.Add(c.Pos, fmt.Sprintf("%s.conversions[%d]", p, i), "event name %q contains control characters", c.Name)
			}
			for _, prev := range x.Conversions[:i] {
				if prev.Name == c.Name {
					ds.Add(c.Pos, fmt.Sprintf("%s.conversions[%d]", p, i), "event name %q listed twice", c.Name)
				}
			}
		}
		if x.Flag.Name == "" {
			continue // the loader reported it
		}
		f := doc.Flag(x.Flag.Name)
		if f == nil {
			ds.Add(x.Flag.Pos, p+".flag", "unknown flag %q%s", x.Flag.Name, config.DidYouMean(x.Flag.Name, flagKeys))
			continue
		}
		if f.Status == config.StatusArchived {
			ds.Add(x.Flag.Pos, p+".flag", "flag %q is archived: it is in no bundle", f.Key)
			continue
		}
		var variants []string
		for _, v := range f.Variants {
			variants = append(variants, v.Name)
		}
		arms := append([]config.Ref{x.Control}, x.Treatments...)
		known := true
		for i, v := range arms {
			vp := p + ".control"
			if i > 0 {
				vp = fmt.Sprintf("%s.treatments[%d]", p, i-1)
			}
			if v.Name == "" {
				continue
			}
			if !slices.Contains(variants, v.Name) {
				known = false
				ds.Add(v.Pos, vp, "undefined variant %q of flag %q (variants: %s)%s", v.Name, f.Key, strings.Join(variants, ", "), config.DidYouMean(v.Name, variants))
			}
			for _, prev := range arms[:i] {
				if prev.Name == v.Name {
					ds.Add(v.Pos, vp, "variant %q is listed twice (the control and the treatments must all differ)", v.Name)
				}
			}
		}
		e := x.Environment.Name
		if e == "" || !declared[e] {
			continue
		}
		if prev, dup := taken[flagEnvKey{f.Key, e}]; dup {
			ds.Add(x.Pos, p, "flag %q already has experiment %q in %q (at %s): one experiment per flag and environment", f.Key, prev.Key, e, prev.Pos)
		}
		taken[flagEnvKey{f.Key, e}] = x
		fe := flagEnv(f, e)
		switch {
		case fe == nil:
			ds.Add(x.Flag.Pos, p+".flag", "flag %q is not configured in %q, so it is disabled there and splits nobody", f.Key, e)
			continue
		case !fe.Enabled || f.Status != config.StatusActive:
			ds.Add(x.Flag.Pos, p+".flag", "flag %q is disabled in %q (status %s, enabled %v): it splits nobody", f.Key, e, f.Status, fe.Enabled)
			continue
		}
		if known && !splitServes(fe, arms) {
			var names []string
			for _, a := range arms {
				names = append(names, a.Name)
			}
			ds.Add(x.Flag.Pos, p+".flag", "flag %q has no split in %q that serves all of %s (give a rule's `split:` or the `default:` split a positive weight for each)", f.Key, e, strings.Join(names, ", "))
		}
	}
}

// splitServes reports whether some split of fe gives every arm a
// positive weight.
func splitServes(fe *config.FlagEnv, arms []config.Ref) bool {
	serves := []*config.Serve{}
	for _, r := range fe.Rules {
		serves = append(serves, &r.Serve)
	}
	if fe.Default != nil {
		serves = append(serves, fe.Default)
	}
	for _, s := range serves {
		if !s.IsSplit() {
			continue
		}
		all := true
		for _, a := range arms {
			w := int64(0)
			for _, arm := range s.Split {
				if arm.Variant == a.Name {
					w += arm.Weight
				}
			}
			all = all && w > 0
		}
		if all {
			return true
		}
	}
	return false
}

// Definition is the experiment x as the analysis and the bundle metadata
// know it.
func Definition(x *config.Experiment) experiment.Definition {
	d := experiment.Definition{Key: x.Key, Flag: x.Flag.Name, Environment: x.Environment.Name, Control: x.Control.Name,
		Start: x.Start, End: x.End, MinimumSample: x.MinimumSample}
	for _, t := range x.Treatments {
		d.Treatments = append(d.Treatments, t.Name)
	}
	for _, c := range x.Conversions {
		d.Conversions = append(d.Conversions, c.Name)
	}
	return d
}

// experimentsOf maps each flag with an experiment in env to its
// definition, which the server bundle carries as the flag's metadata
// (docs/experiments.md).
func experimentsOf(doc *config.Document, env string) map[string]experiment.Definition {
	out := map[string]experiment.Definition{}
	for _, x := range doc.Experiments {
		if x.Environment.Name == env {
			out[x.Flag.Name] = Definition(x)
		}
	}
	return out
}
