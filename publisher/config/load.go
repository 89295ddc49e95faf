package config

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeflag/edgeflag/internal/safefile"
)

// File is one config file's name (as it should appear in diagnostics) and
// content.
type File struct {
	Name string
	Data []byte
}

// Load reads every *.yaml, *.yml and *.json file directly in dir (not in
// subdirectories), in name order, and merges them, within DefaultLimits.
// It always returns a Document (partial when there are errors) and every
// problem found; the document is usable for building only when
// !diags.HasErrors().
func Load(dir string) (*Document, Diagnostics) {
	return LoadWithLimits(dir, DefaultLimits())
}

// LoadWithLimits is Load with explicit limits. Only regular files are read:
// a symbolic link is followed and its target must be a regular file, whose
// size is checked against what is left of lim.MaxBytes before it is read;
// a named pipe, device or socket with a config file name is an error, never
// a read that could block. Subdirectories (and links to directories) are
// skipped.
func LoadWithLimits(dir string, lim Limits) (*Document, Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		var ds Diagnostics
		ds.Add(Pos{File: dir}, "", "read config directory: %v", err)
		return &Document{}, ds
	}
	b := &budget{lim: lim}
	var files []File
	var ds Diagnostics
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			ds.Add(Pos{File: p}, "", "read config file: %v", err)
			continue
		}
		if fi.IsDir() {
			continue
		}
		if !fi.Mode().IsRegular() {
			ds.Add(Pos{File: p}, "", "is %s, not a regular file (config files must be regular files; symbolic links to them are followed)", safefile.Kind(fi.Mode()))
			continue
		}
		if !b.takeBytes(&ds, p, fi.Size()) {
			break
		}
		data, err := safefile.Read(p, fi.Size())
		switch {
		case errors.Is(err, safefile.ErrTooLarge):
			ds.Add(Pos{File: p}, "", "changed size while being read")
			b.spent = true
		case err != nil:
			ds.Add(Pos{File: p}, "", "%v", err)
			continue
		}
		if b.spent {
			break
		}
		files = append(files, File{Name: p, Data: data})
	}
	if len(files) == 0 && len(ds) == 0 {
		ds.Add(Pos{File: dir}, "", "no *.yaml, *.yml or *.json files")
	}
	doc, more := parseFiles(files, b)
	ds = append(ds, more...)
	ds.Sort()
	return doc, ds
}

// Parse merges the given files (sorted by name first) into one Document,
// within DefaultLimits.
func Parse(files []File) (*Document, Diagnostics) {
	return ParseWithLimits(files, DefaultLimits())
}

// ParseWithLimits is Parse with explicit limits.
func ParseWithLimits(files []File, lim Limits) (*Document, Diagnostics) {
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	b := &budget{lim: lim}
	var ds Diagnostics
	for i, f := range files {
		if !b.takeBytes(&ds, f.Name, int64(len(f.Data))) {
			files = files[:i]
			break
		}
	}
	doc, more := parseFiles(files, b)
	ds = append(ds, more...)
	ds.Sort()
	return doc, ds
}

// parseFiles merges files, sorted by name, whose raw bytes b already holds.
func parseFiles(files []File, b *budget) (*Document, Diagnostics) {
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	m := &merger{doc: &Document{}, flags: map[string]*Flag{}, segs: map[string]*Segment{}, hooks: map[string]*Webhook{}, exps: map[string]*Experiment{}, budget: b}
	for _, f := range files {
		m.doc.Files = append(m.doc.Files, f.Name)
		if b.spent {
			continue // a limit was reached: reading on would only cost time
		}
		p := &parser{src: newSource(f.Name, f.Data), diags: &m.diags}
		p.file(m)
	}
	m.finish()
	m.diags.Sort()
	return m.doc, m.diags
}
