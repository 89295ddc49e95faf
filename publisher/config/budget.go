package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits bound the work a config directory can ask of Load and Parse. They
// are totals over the whole directory, and the node and expanded-byte
// counts are taken after alias expansion, so neither an alias bomb in one
// file nor one spread over many files gets past them.
type Limits struct {
	// MaxBytes bounds the total size of the files read, checked before a
	// file is read.
	MaxBytes int64
	// MaxNodes bounds the YAML nodes of all files, every use of an alias
	// counting its target's nodes again.
	MaxNodes int
	// MaxExpandedBytes bounds the bytes of all scalars (keys and values),
	// counted in the same expanded way.
	MaxExpandedBytes int64
	// MaxDepth bounds the nesting of mappings and lists, aliases expanded.
	MaxDepth int
}

// DefaultLimits are the limits Load and Parse apply: room for some 25 000
// flags of a typical size, while the costliest input they admit is refused
// in seconds (docs/config.md has the measurement).
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:         16 << 20,
		MaxNodes:         2 << 20,
		MaxExpandedBytes: 64 << 20,
		MaxDepth:         256,
	}
}

// budget is what is left of Limits while the files of one directory are
// parsed; it is shared by all of them.
type budget struct {
	lim   Limits
	bytes int64 // raw file bytes taken
	nodes int
	xb    int64 // expanded scalar bytes
	// spent is set once a limit was exceeded; later files are not parsed.
	spent bool
}

// pathSeg is one step of the field path the expansion walk is at.
type pathSeg struct {
	key string
	idx int // -1 for a mapping key
}

// expansion walks one file's node tree the way the section readers will
// see it (aliases expanded), charging every node to the budget, and
// refuses alias cycles. It stops at the first problem.
type expansion struct {
	p      *parser
	b      *budget
	active map[*yaml.Node]bool // anchored nodes being walked (cycle check)
	path   []pathSeg
	// via is the outermost alias being expanded: a limit crossed inside
	// it is reported where the alias was used.
	via    *yaml.Node
	failed bool
}

// charge accounts for the expanded node tree under root and reports
// whether it fits the budget; when it does not, a diagnostic names the
// position and field where the limit was crossed.
func (p *parser) charge(root *yaml.Node, b *budget) bool {
	x := &expansion{p: p, b: b, active: map[*yaml.Node]bool{}}
	x.walk(root, 0)
	if x.failed {
		b.spent = true
	}
	return !x.failed
}

func (x *expansion) fail(n *yaml.Node, format string, args ...any) {
	x.failed = true
	if x.via != nil {
		n = x.via
	}
	x.p.errf(n, x.pathString(), format, args...)
}

func (x *expansion) pathString() string {
	var sb strings.Builder
	for _, s := range x.path {
		if s.idx >= 0 {
			sb.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(s.key)
	}
	return sb.String()
}

func (x *expansion) walk(n *yaml.Node, depth int) {
	if x.failed || n == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			x.fail(n, "alias *%s names no anchor", n.Value)
			return
		}
		if x.active[t] {
			x.fail(n, "alias *%s refers to a node that contains it", n.Value)
			return
		}
		if x.via == nil {
			x.via = n
			defer func() { x.via = nil }()
		}
		x.walk(t, depth)
		return
	}
	b := x.b
	b.nodes++
	b.xb += int64(len(n.Value))
	switch {
	case b.nodes > b.lim.MaxNodes:
		x.fail(n, "config too large: over %d YAML nodes in the directory, counting every use of an alias (limit)", b.lim.MaxNodes)
		return
	case b.xb > b.lim.MaxExpandedBytes:
		x.fail(n, "config too large: over %d bytes of keys and values in the directory, counting every use of an alias (limit)", b.lim.MaxExpandedBytes)
		return
	case depth > b.lim.MaxDepth:
		x.fail(n, "config nested more than %d levels deep (limit)", b.lim.MaxDepth)
		return
	}
	if n.Anchor != "" {
		x.active[n] = true
		defer delete(x.active, n)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			x.walk(c, depth)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			x.walk(n.Content[i], depth+1)
			k := deref(n.Content[i])
			key := ""
			if k != nil {
				key = k.Value
			}
			x.path = append(x.path, pathSeg{key: key, idx: -1})
			x.walk(n.Content[i+1], depth+1)
			x.path = x.path[:len(x.path)-1]
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			x.path = append(x.path, pathSeg{idx: i})
			x.walk(c, depth+1)
			x.path = x.path[:len(x.path)-1]
		}
	}
}

// takeBytes charges a file's raw size; false (after a diagnostic) when the
// directory's total would exceed MaxBytes.
func (b *budget) takeBytes(ds *Diagnostics, file string, size int64) bool {
	if b.bytes+size > b.lim.MaxBytes {
		ds.Add(Pos{File: file}, "", "config too large: the files total more than %d bytes (limit); %s is %d bytes after %d already read", b.lim.MaxBytes, file, size, b.bytes)
		b.spent = true
		return false
	}
	b.bytes += size
	return true
}
