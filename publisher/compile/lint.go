package compile

import (
	"fmt"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/expr"
	"github.com/edgeflag/edgeflag/publisher/names"
)

// LintOptions configure Lint.
type LintOptions struct {
	// Strict turns the expired-flag warning into an error.
	Strict bool
	// Now is the time expiry is checked against (the CLI passes the clock;
	// tests pass a fixed time). The zero time skips the expiry check.
	Now time.Time
}

// Lint checks the whole document (every environment) and returns every
// problem found, sorted: undefined variant, segment and flag references;
// reference cycles; unreachable rules; splits with negative or only zero
// weights; attributes missing from `context:` and type errors against it;
// expired flags; names that break the naming rule (package names);
// environments used but
// not declared; bucketBy and segment key attributes of a declared type
// other than string or number; client-side flags that depend on
// server-only flags; duplicate rule names. Run it on a document from
// config.Load together with Load's own diagnostics.
func Lint(doc *config.Document, opts LintOptions) Diagnostics {
	var ds Diagnostics
	a := analyze(doc, "", &ds)

	key := func(name string, pos config.Pos, path, what string) {
		if name == "" {
			return // the loader reported it
		}
		if err := names.Check(name); err != nil {
			ds.Add(pos, path, "%s %q %v", what, name, err)
		}
	}
	key(doc.Project, doc.ProjectPos, "project", "project name")
	declared := map[string]bool{}
	var envNames []string
	for i, e := range doc.Environments {
		key(e.Name, e.Pos, fmt.Sprintf("environments[%d]", i), "environment name")
		declared[e.Name] = true
		envNames = append(envNames, e.Name)
	}
	undeclaredEnv := func(name string, pos config.Pos, path string) {
		if !declared[name] {
			ds.Add(pos, path, "environment %q is not declared in `environments:`%s", name, config.DidYouMean(name, envNames))
		}
	}
	lintExperiments(doc, "", &ds)
	for _, w := range doc.Webhooks {
		key(w.Name, w.Pos, "webhooks."+w.Name, "webhook name")
		for _, e := range w.Environments {
			undeclaredEnv(e.Name, e.Pos, "webhooks."+w.Name+".environments")
		}
	}

	// Attributes read outside expressions (bucketBy, segment key lists).
	keyAttr := func(name string, pos config.Pos, path string) {
		if name == "" || name == expr.TargetingKey || !doc.HasContext {
			return
		}
		t, ok := a.attrs[name]
		switch {
		case !ok:
			ds.Add(pos, path, "attribute %q is not declared in `context:`", name)
		case t != config.AttrString && t != config.AttrNumber && t != config.AttrDyn:
			ds.Add(pos, path, "attribute %q is declared as %s; bucketing and key lists need a string or number", name, t)
		}
	}
	undeclaredAttrs := func(info expr.Info, e *config.Expr, path string) {
		for _, at := range info.Undeclared {
			ds.Add(e.Pos, path, "attribute %q is not declared in `context:`", at)
		}
	}

	for _, s := range doc.Segments {
		p := "segments." + s.Name
		key(s.Name, s.Pos, p, "segment name")
		if info, ok := a.segInfo[s.Name]; ok {
			undeclaredAttrs(info, s.When, p+".when")
		}
		if s.HasKeys {
			keyAttr(s.Attribute, s.AttributePos, p+".attribute")
		}
	}

	for _, f := range doc.Flags {
		p := "flags." + f.Key
		key(f.Key, f.Pos, p, "flag key")
		for _, v := range f.Variants {
			if !f.ImplicitVariants {
				key(v.Name, v.Pos, p+".variants."+v.Name, "variant name")
			}
		}
		checkFlag(f, "", &ds)
		if !f.Expires.IsZero() && f.Status != config.StatusArchived && !opts.Now.IsZero() {
			if end := f.Expires.Add(24 * time.Hour); !opts.Now.Before(end) {
				msg := "flag expired on %s: remove it or extend expires"
				if opts.Strict {
					ds.Add(f.ExpiresPos, p+".expires", msg, f.Expires.Format("2006-01-02"))
				} else {
					ds.Warn(f.ExpiresPos, p+".expires", msg, f.Expires.Format("2006-01-02"))
				}
			}
		}
		for _, fe := range f.Environments {
			ep := p + ".environments." + fe.Name
			undeclaredEnv(fe.Name, fe.Pos, ep)
			names := map[string]config.Pos{}
			alwaysAt := -1
			for i, r := range fe.Rules {
				rp := rulePath(f, fe, i)
				if r.Name != "" {
					key(r.Name, r.NamePos, rp+".name", "rule name")
					if prev, dup := names[r.Name]; dup {
						ds.Add(r.NamePos, rp+".name", "rule name %q used twice in this environment (first at %s)", r.Name, prev)
					}
					names[r.Name] = r.NamePos
				}
				if alwaysAt >= 0 {
					ds.Add(r.Pos, rp, "unreachable: rule %d always matches", alwaysAt+1)
				}
				if r.Serve.BucketBy != "" {
					keyAttr(r.Serve.BucketBy, r.Serve.BucketByPos, rp+".bucketBy")
				}
				info, ok := a.ruleInfo[r]
				if !ok {
					continue
				}
				undeclaredAttrs(info, r.When, rp+".when")
				if info.Constant != nil {
					if *info.Constant {
						if alwaysAt < 0 {
							alwaysAt = i
						}
					} else {
						ds.Warn(r.When.Pos, rp+".when", "condition is always false: the rule never matches")
					}
				}
				if f.ClientSide {
					for _, k := range info.Flags {
						if dep := findFlag(doc, k); dep != nil && !dep.ClientSide {
							ds.Add(r.When.Pos, rp+".when", "client-side flag %q depends on flag %q, which is not clientSide: the client bundle could not evaluate it", f.Key, k)
						}
					}
					for _, s := range info.Segments {
						for _, k := range segFlags(a, s, map[string]bool{}) {
							if dep := findFlag(doc, k); dep != nil && !dep.ClientSide {
								ds.Add(r.When.Pos, rp+".when", "client-side flag %q depends (through segment %q) on flag %q, which is not clientSide", f.Key, s, k)
							}
						}
					}
				}
			}
			if fe.Default != nil && fe.Default.BucketBy != "" {
				keyAttr(fe.Default.BucketBy, fe.Default.BucketByPos, ep+".default.bucketBy")
			}
		}
	}
	reported := map[string]bool{}
	for _, e := range doc.Environments {
		a.cycles(e.Name, reported, &ds)
	}
	ds.Sort()
	return ds
}

func findFlag(doc *config.Document, key string) *config.Flag { return doc.Flag(key) }

// segFlags returns the flags a segment's condition reads through variant(),
// transitively through other segments.
func segFlags(a *analysis, name string, seen map[string]bool) []string {
	if seen[name] {
		return nil
	}
	seen[name] = true
	info := a.segInfo[name]
	out := append([]string(nil), info.Flags...)
	for _, s := range info.Segments {
		out = append(out, segFlags(a, s, seen)...)
	}
	return out
}

// LoadAndLint loads dir and lints it: what every command that reads a
// config directory checks first. The diagnostics of both steps are merged
// and sorted.
func LoadAndLint(dir string, opts LintOptions) (*config.Document, Diagnostics) {
	doc, ds := config.Load(dir)
	ds = append(ds, Lint(doc, opts)...)
	ds.Sort()
	return doc, ds
}

// Validate is what `edgeflag validate DIR [--strict]` runs: LoadAndLint,
// then, when that found no error, Build and Payload for every environment
// and audience, so that a directory that validates also builds and
// publishes (no bundle of it is one a verifier would refuse). Validation
// fails when diags.HasErrors().
func Validate(dir string, opts LintOptions) (*config.Document, Diagnostics) {
	doc, ds := LoadAndLint(dir, opts)
	if ds.HasErrors() {
		return doc, ds
	}
	for _, e := range doc.Environments {
		for _, aud := range []ir.Audience{ir.AudienceServer, ir.AudienceClient} {
			b, bds := Build(doc, e.Name, aud)
			ds = append(ds, bds.Errors()...)
			if b == nil {
				continue
			}
			_, pds := Payload(doc, b)
			ds = append(ds, pds...)
		}
	}
	ds.Sort()
	return doc, ds
}
