package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
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
