// Package edgepack is `make edge`: it reads an edge configuration (YAML,
// docs/edge.md), checks it with file:line errors, verifies the signed
// client bundle it names against its JWKS, checks every configured flag
// against that bundle, and writes the Lambda@Edge package — the handlers'
// JavaScript, the wasm module, the configuration, trust and bundle baked
// in — as a deterministic zip, reporting its size against Lambda@Edge's
// limits.
package edgepack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/edgeflag/edgeflag/internal/safefile"
	"github.com/edgeflag/edgeflag/publisher/config"
	"github.com/edgeflag/edgeflag/publisher/names"
)

// ConfigFormat is the version of the baked config.json (the handlers
// refuse any other).
const ConfigFormat = 1

// Limits shared with the handlers' own check of config.json
// (edgefn/viewer/src/config.mjs).
const (
	MaxConfigFile      = 1 << 20
	MaxRoutes          = 256
	MaxFlagsPerRoute   = 32
	MaxContextAttrs    = 16
	FlagsHeaderMin     = 256
	FlagsHeaderMax     = 8192
	FlagsHeaderDefault = 4096
	MaxCookieDays      = 400 // browsers cap cookie lifetimes at 400 days
	DefaultCookieDays  = 365
	MaxGraceSeconds    = 365 * 86400
	RefreshIntervalMin = 5
	RefreshIntervalMax = 86400
	RefreshTimeoutMax  = 25 // an origin-request function has 30 s
	DefaultInterval    = 60
	DefaultTimeout     = 2
)

// Function kinds: which Lambda@Edge limit the package must meet.
const (
	FunctionViewer = "viewer" // viewer-request / viewer-response: 1 MB zipped, 128 MB, 5 s
	FunctionOrigin = "origin" // origin-request / origin-response: 50 MB zipped, 30 s
)

// Route is one route: a path pattern and the flags it evaluates.
type Route struct {
	Pattern string   `json:"pattern"`
	Flags   []string `json:"flags"`
	pos     config.Pos
	flagPos []config.Pos
}

// Attr is a context attribute read from a request header.
type Attr struct {
	Header string `json:"header"`
}

// Cookie configures the unit cookie.
type Cookie struct {
	MaxAgeSeconds int    `json:"maxAgeSeconds"`
	Domain        string `json:"domain,omitempty"`
}

// Refresh is where an origin-request function refreshes the bundle.
type Refresh struct {
	URL             string `json:"url"`
	IntervalSeconds int    `json:"intervalSeconds"`
	TimeoutSeconds  int    `json:"timeoutSeconds"`
}

// Config is a checked edge configuration: the author's file (paths
// resolved against its directory) and what config.json will hold.
type Config struct {
	File string // the file it was read from

	// Where the bundle and the trust come from (at most one of Bundle and
	// Store; neither: packaged without a bundle, which needs AllowMissing).
	Bundle, Store, JWKS string
	// Module: "auto", "tiny", "standard", "es256" or a path.
	Module string
	// Function: FunctionViewer (default) or FunctionOrigin.
	Function string

	Project     string
	Environment string
	Routes      []Route
	Defaults    map[string]json.RawMessage
	Context     map[string]Attr
	Cookie      Cookie
	FlagsHeader int
	Grace       int
	Refresh     *Refresh

	defaultPos map[string]config.Pos
	pos        map[string]config.Pos // of top-level keys
}

// Baked is config.json: what the handlers read.
type Baked struct {
	Format              int                        `json:"format"`
	Project             string                     `json:"project"`
	Environment         string                     `json:"environment"`
	Routes              []Route                    `json:"routes"`
	Defaults            map[string]json.RawMessage `json:"defaults"`
	Context             map[string]Attr            `json:"context,omitempty"`
	Cookie              Cookie                     `json:"cookie"`
	FlagsHeaderMaxBytes int                        `json:"flagsHeaderMaxBytes"`
	GraceSeconds        int                        `json:"graceSeconds"`
	Refresh             *Refresh                   `json:"refresh,omitempty"`
}

// Baked returns the content of config.json.
func (c *Config) Baked() Baked {
	return Baked{Format: ConfigFormat, Project: c.Project, Environment: c.Environment, Routes: c.Routes,
		Defaults: c.Defaults, Context: c.Context, Cookie: c.Cookie, FlagsHeaderMaxBytes: c.FlagsHeader,
		GraceSeconds: c.Grace, Refresh: c.Refresh}
}

var (
	attrName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	headerName = regexp.MustCompile(`^[a-z0-9!#$%&'*+.^_` + "`" + `|~-]{1,64}$`)
	domainName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
)

var topKeys = []string{"project", "environment", "bundle", "store", "jwks", "module", "function", "routes", "defaults",
	"context", "cookie", "flagsHeaderMaxBytes", "graceSeconds", "refresh"}

// LoadConfig reads and checks an edge configuration file. Problems are
// returned together as config.Diagnostics (file:line:col: path: message).
func LoadConfig(path string) (*Config, error) {
	data, err := safefile.Read(path, MaxConfigFile)
	if err != nil {
		return nil, fmt.Errorf("read edge config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig checks data, the content of the file named name.
func ParseConfig(name string, data []byte) (*Config, error) {
	p := &parser{file: name}
	c := &Config{File: name, Module: "auto", Function: FunctionViewer, FlagsHeader: FlagsHeaderDefault,
		Cookie: Cookie{MaxAgeSeconds: DefaultCookieDays * 86400}, Defaults: map[string]json.RawMessage{},
		Context: map[string]Attr{}, defaultPos: map[string]config.Pos{}, pos: map[string]config.Pos{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		msg := yamlLineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")
		p.diags.Add(config.Pos{File: name, Line: yamlLine(err), Col: 1}, "", "syntax error: %s", msg)
		return nil, p.diags
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		p.diags.Add(p.pos(&extra), "", "one YAML document only")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	base := filepath.Dir(name)
	for _, e := range p.mapping(root, "", topKeys) {
		k, v := e.key.Value, e.val
		c.pos[k] = p.pos(e.key)
		switch k {
		case "project", "environment":
			s := p.str(v, k)
			if err := names.Check(s); s != "" && err != nil {
				p.errf(v, k, "%q %v", s, err)
			}
			if k == "project" {
				c.Project = s
			} else {
				c.Environment = s
			}
		case "bundle", "jwks":
			if s := p.str(v, k); s != "" {
				s = resolve(base, s)
				if k == "bundle" {
					c.Bundle = s
				} else {
					c.JWKS = s
				}
			}
		case "store":
			s := p.str(v, k)
			if u, err := url.Parse(s); err != nil || (u.Scheme != "file" && u.Scheme != "s3") {
				p.errf(v, k, "want a store URL (file://PATH or s3://BUCKET[/PREFIX]?region=R)")
			} else if u.Scheme == "file" && !filepath.IsAbs(u.Host+u.Path) {
				s = "file://" + resolve(base, u.Host+u.Path)
			}
			c.Store = s
		case "module":
			s := p.str(v, k)
			switch s {
			case "auto", "tiny", "standard", "es256":
			default:
				if !strings.HasSuffix(s, ".wasm") {
					p.errf(v, k, "want auto, tiny, standard, es256 or the path of a .wasm file")
				}
				s = resolve(base, s)
			}
			c.Module = s
		case "function":
			c.Function = p.str(v, k)
			if c.Function != FunctionViewer && c.Function != FunctionOrigin {
				p.errf(v, k, "want viewer (viewer-request/-response, 1 MB) or origin (origin-request/-response, 50 MB)")
			}
		case "routes":
			c.Routes = p.routes(v)
		case "defaults":
			for _, d := range p.mapping(v, k, nil) {
				path := k + "." + d.key.Value
				if err := names.Check(d.key.Value); err != nil {
					p.errf(d.key, path, "flag key %v", err)
				}
				raw, err := jsonValue(d.val)
				switch {
				case err != nil:
					p.errf(d.val, path, "%v", err)
				case raw == nil:
					p.errf(d.val, path, "want a boolean, string, number or object (the value served when no bundle can decide)")
				default:
					c.Defaults[d.key.Value] = raw
				}
				c.defaultPos[d.key.Value] = p.pos(d.key)
			}
		case "context":
			for _, a := range p.mapping(v, k, nil) {
				path := k + "." + a.key.Value
				if !attrName.MatchString(a.key.Value) || a.key.Value == "targetingKey" {
					p.errf(a.key, path, "want an attribute name ([A-Za-z_][A-Za-z0-9_]*, at most 64; not targetingKey: that is the unit)")
				}
				for _, h := range p.mapping(a.val, path, []string{"header"}) {
					name := p.str(h.val, path+".header")
					if !headerName.MatchString(name) || strings.HasPrefix(name, "x-edgeflag-") {
						p.errf(h.val, path+".header", "want a lower-case header name, not x-edgeflag-* (CloudFront passes header keys in lower case)")
					}
					c.Context[a.key.Value] = Attr{Header: name}
				}
				if _, ok := c.Context[a.key.Value]; !ok {
					p.errf(a.key, path, "missing header")
				}
			}
			if len(c.Context) > MaxContextAttrs {
				p.errf(v, k, "at most %d attributes", MaxContextAttrs)
			}
		case "cookie":
			for _, e := range p.mapping(v, k, []string{"maxAgeDays", "domain"}) {
				switch e.key.Value {
				case "maxAgeDays":
					c.Cookie.MaxAgeSeconds = p.intIn(e.val, "cookie.maxAgeDays", 1, MaxCookieDays) * 86400
				case "domain":
					c.Cookie.Domain = p.str(e.val, "cookie.domain")
					if len(c.Cookie.Domain) > 253 || !domainName.MatchString(c.Cookie.Domain) {
						p.errf(e.val, "cookie.domain", "want a host name such as example.com")
					}
				}
			}
		case "flagsHeaderMaxBytes":
			c.FlagsHeader = p.intIn(v, k, FlagsHeaderMin, FlagsHeaderMax)
		case "graceSeconds":
			c.Grace = p.intIn(v, k, 0, MaxGraceSeconds)
		case "refresh":
			c.Refresh = p.refresh(v)
		}
	}
	for _, k := range []string{"project", "environment"} {
		if _, ok := c.pos[k]; !ok {
			p.diags.Add(config.Pos{File: name, Line: 1, Col: 1}, k, "missing (the environment whose client bundle the edge evaluates)")
		}
	}
	if _, ok := c.pos["routes"]; !ok {
		p.diags.Add(config.Pos{File: name, Line: 1, Col: 1}, "routes", "missing: the path patterns and the flags each evaluates")
	}
	if c.Bundle != "" && c.Store != "" {
		p.errf(nil, "store", "give bundle or store, not both")
	}
	used := map[string]bool{}
	for i, r := range c.Routes {
		for j, f := range r.Flags {
			used[f] = true
			if _, ok := c.defaultPos[f]; !ok {
				p.diags.Add(r.flagPos[j], fmt.Sprintf("routes[%d].flags[%d]", i, j), "%s has no default (add it under defaults: the value served when no bundle can decide)", f)
			}
		}
	}
	for k, pos := range c.defaultPos {
		if !used[k] {
			p.diags.Add(pos, "defaults."+k, "no route evaluates %s", k)
		}
	}
	if len(p.diags) > 0 {
		p.diags.Sort()
		return nil, p.diags
	}
	return c, nil
}

// Pos returns where a top-level key or a default was written (for
// errors found later, against the bundle).
func (c *Config) keyPos(key string) config.Pos {
	if p, ok := c.pos[key]; ok {
		return p
	}
	return config.Pos{File: c.File, Line: 1, Col: 1}
}

func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

func yamlLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 1
}

type parser struct {
	file  string
	diags config.Diagnostics
}

func (p *parser) pos(n *yaml.Node) config.Pos {
	if n == nil {
		return config.Pos{File: p.file, Line: 1, Col: 1}
	}
	return config.Pos{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) {
	p.diags.Add(p.pos(n), path, format, args...)
}

type entry struct{ key, val *yaml.Node }

// mapping returns a mapping's entries; allowed (nil: any key) lists the
// keys it may have. Duplicate keys, aliases and merge keys are errors.
func (p *parser) mapping(n *yaml.Node, path string, allowed []string) []entry {
	if n.Kind == yaml.AliasNode {
		p.errf(n, path, "aliases are not allowed here")
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		p.errf(n, path, "want a mapping")
		return nil
	}
	var out []entry
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode || k.Tag == "!!merge":
			p.errf(k, path, "want a plain key (no merge keys or aliases)")
			continue
		case seen[k.Value]:
			p.errf(k, kp, "given twice")
			continue
		case allowed != nil && !slices.Contains(allowed, k.Value):
			p.errf(k, kp, "unknown key%s", config.DidYouMean(k.Value, allowed))
			continue
		case v.Kind == yaml.AliasNode:
			p.errf(v, kp, "aliases are not allowed")
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{k, v})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errf(n, path, "want a string")
		return ""
	}
	if n.Value == "" {
		p.errf(n, path, "must not be empty")
	}
	return n.Value
}

func (p *parser) intIn(n *yaml.Node, path string, lo, hi int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < lo || v > hi {
		p.errf(n, path, "want an integer %d-%d", lo, hi)
		return lo
	}
	return v
}

func (p *parser) routes(n *yaml.Node) []Route {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "routes", "want a list of {pattern, flags}")
		return nil
	}
	if len(n.Content) > MaxRoutes {
		p.errf(n, "routes", "at most %d routes", MaxRoutes)
	}
	var out []Route
	for i, rn := range n.Content {
		path := fmt.Sprintf("routes[%d]", i)
		r := Route{pos: p.pos(rn), Flags: []string{}}
		got := map[string]bool{}
		for _, e := range p.mapping(rn, path, []string{"pattern", "flags"}) {
			got[e.key.Value] = true
			switch e.key.Value {
			case "pattern":
				r.Pattern = p.str(e.val, path+".pattern")
				if why := PatternError(r.Pattern); r.Pattern != "" && why != "" {
					p.errf(e.val, path+".pattern", "%s", why)
				}
			case "flags":
				if e.val.Kind != yaml.SequenceNode {
					p.errf(e.val, path+".flags", "want a list of flag keys")
					continue
				}
				if len(e.val.Content) > MaxFlagsPerRoute {
					p.errf(e.val, path+".flags", "at most %d flags per route", MaxFlagsPerRoute)
				}
				seen := map[string]bool{}
				for j, f := range e.val.Content {
					fp := fmt.Sprintf("%s.flags[%d]", path, j)
					key := p.str(f, fp)
					if err := names.Check(key); key != "" && err != nil {
						p.errf(f, fp, "flag key %q %v", key, err)
					}
					if seen[key] {
						p.errf(f, fp, "%s is listed twice", key)
					}
					seen[key] = true
					r.Flags = append(r.Flags, key)
					r.flagPos = append(r.flagPos, p.pos(f))
				}
			}
		}
		for _, k := range []string{"pattern", "flags"} {
			if rn.Kind == yaml.MappingNode && !got[k] {
				p.errf(rn, path, "missing %s", k)
			}
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) refresh(n *yaml.Node) *Refresh {
	r := &Refresh{IntervalSeconds: DefaultInterval, TimeoutSeconds: DefaultTimeout}
	for _, e := range p.mapping(n, "refresh", []string{"url", "intervalSeconds", "timeoutSeconds"}) {
		switch e.key.Value {
		case "url":
			r.URL = p.str(e.val, "refresh.url")
			u, err := url.Parse(r.URL)
			switch {
			case err != nil || !u.IsAbs() || u.Host == "":
				p.errf(e.val, "refresh.url", "want an absolute https:// URL")
			case u.User != nil:
				p.errf(e.val, "refresh.url", "credentials in the URL would be baked into the package")
			case u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())):
				p.errf(e.val, "refresh.url", "want https:// (http:// only for a loopback host, in tests)")
			}
		case "intervalSeconds":
			r.IntervalSeconds = p.intIn(e.val, "refresh.intervalSeconds", RefreshIntervalMin, RefreshIntervalMax)
		case "timeoutSeconds":
			r.TimeoutSeconds = p.intIn(e.val, "refresh.timeoutSeconds", 1, RefreshTimeoutMax)
		}
	}
	if r.URL == "" {
		p.errf(n, "refresh", "missing url")
	}
	return r
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jsonValue converts a YAML default to JSON as variant values are read
// (config.YAMLValue): booleans, strings, numbers and mappings of them;
// nil for null and for a list at the top. Aliases, merge keys and
// nesting deeper than 32 are refused first.
func jsonValue(n *yaml.Node) (json.RawMessage, error) {
	if err := plainTree(n, 0); err != nil {
		return nil, err
	}
	v, err := config.YAMLValue(n)
	if err != nil || v == nil {
		return nil, err
	}
	if _, isList := v.([]any); isList {
		return nil, nil
	}
	return json.Marshal(v)
}

func plainTree(n *yaml.Node, depth int) error {
	switch {
	case depth > 32:
		return fmt.Errorf("line %d: nested deeper than 32", n.Line)
	case n.Kind == yaml.AliasNode:
		return fmt.Errorf("line %d: aliases are not allowed", n.Line)
	case n.Kind == yaml.ScalarNode && n.Tag == "!!merge":
		return fmt.Errorf("line %d: merge keys are not allowed", n.Line)
	}
	for _, c := range n.Content {
		if err := plainTree(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}
