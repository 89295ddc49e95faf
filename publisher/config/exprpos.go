package config

import "gopkg.in/yaml.v3"

// source is one file's bytes with its line start offsets, used to map
// expression offsets back to file positions.
type source struct {
	name  string
	data  []byte
	lines []int // byte offset of each line start
}

func newSource(name string, data []byte) *source {
	s := &source{name: name, data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// offset converts a 1-based line and code-point column to a byte offset,
// or -1.
func (s *source) offset(line, col int) int {
	if line < 1 || line > len(s.lines) {
		return -1
	}
	off := s.lines[line-1]
	for c := 1; c < col; c++ {
		if off >= len(s.data) || s.data[off] == '\n' {
			return -1
		}
		off += runeLen(string(s.data[off:min(off+4, len(s.data))]))
	}
	return off
}

// exprFor builds an Expr for a scalar node, aligning each byte of its value
// with the raw file text. Quoting (single ” escapes, double-quoted
// backslash escapes), line folding and block scalars (| and >) are handled;
// if the alignment fails the expression falls back to the scalar's position.
func (s *source) exprFor(n *yaml.Node) *Expr {
	e := &Expr{Src: n.Value, Pos: Pos{File: s.name, Line: n.Line, Col: n.Column}}
	e.offs = s.align(n)
	return e
}

func (s *source) align(n *yaml.Node) []lineCol {
	v := n.Value
	raw := s.offset(n.Line, n.Column)
	if raw < 0 {
		return nil
	}
	line, col := n.Line, n.Column
	data := s.data
	step := func() { // advance raw by one byte, tracking line and column
		if data[raw] == '\n' {
			line++
			col = 1
			raw++
			return
		}
		raw++
		if raw < len(data) && data[raw]&0xC0 != 0x80 {
			col++
		}
	}
	single := n.Style&yaml.SingleQuotedStyle != 0
	double := n.Style&yaml.DoubleQuotedStyle != 0
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		for raw < len(data) && data[raw] != '\n' {
			step()
		}
		if raw >= len(data) {
			return nil
		}
		step()
	case single, double:
		step()
	}
	offs := make([]lineCol, len(v))
	i := 0
	for i < len(v) {
		if raw >= len(data) {
			return nil
		}
		rc, vc := data[raw], v[i]
		here := lineCol{int32(line), int32(col)}
		switch {
		case double && rc == '\\':
			if raw+1 < len(data) && data[raw+1] == '\n' { // escaped line break
				step()
				step()
				for raw < len(data) && (data[raw] == ' ' || data[raw] == '\t') {
					step()
				}
				continue
			}
			n := runeLen(v[i:])
			for k := 0; k < n; k++ {
				offs[i+k] = here
			}
			i += n
			step()
			if raw >= len(data) {
				return nil
			}
			skip := 1
			switch data[raw] {
			case 'x':
				skip = 3
			case 'u':
				skip = 5
			case 'U':
				skip = 9
			}
			for k := 0; k < skip && raw < len(data); k++ {
				step()
			}
		case single && rc == '\'' && raw+1 < len(data) && data[raw+1] == '\'' && vc == '\'':
			offs[i] = here
			i++
			step()
			step()
		case rc == vc:
			offs[i] = here
			i++
			step()
		case rc == ' ' || rc == '\t' || rc == '\n' || rc == '\r':
			step()
		case vc == ' ' || vc == '\n':
			offs[i] = here
			i++
		default:
			return nil
		}
	}
	return offs
}
