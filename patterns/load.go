package patterns

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/centra-cloud/cflogd"
)

// BuiltinDir is the directory of cflogd.Patterns that holds the built-in
// library, and the prefix of its file names in positions.
const BuiltinDir = "patterns.d"

// builtinFS is the file system holding BuiltinDir.
func builtinFS() fs.FS { return cflogd.Patterns }

// LoadBuiltin returns the library compiled into the binary.
func LoadBuiltin() (*Library, error) { return Load(nil) }

// Load returns the built-in library with the pattern files of each dir merged
// over it, dir by dir: a signature whose id already exists replaces it in
// place, a new one is added before the fallback signatures, and `before:`
// moves a signature in front of another. Problems in the files come back as
// one *ErrorList naming every one of them; a dir that cannot be read is a
// plain error (wrapping fs.ErrNotExist when it does not exist).
func Load(dirs []string) (*Library, error) {
	s, err := ReadSnapshot(dirs)
	if err != nil {
		return nil, err
	}
	return s.Load()
}

// Snapshot is the content of the pattern files of some directories, read in
// one go: Load builds the library from exactly these bytes, and comparing two
// snapshots (Equal) tells a caller whether the files changed in between, so
// that a reload never uses a file caught half-written.
type Snapshot struct {
	dirs []dirFiles
}

// dirFiles is one directory's pattern files, in lexical order.
type dirFiles struct {
	dir   string
	files []fileData
}

type fileData struct {
	name string
	data []byte
}

// ReadSnapshot reads the pattern files of each dir (as ParseFS selects
// them). A dir that cannot be read is an error (wrapping fs.ErrNotExist
// when it does not exist).
func ReadSnapshot(dirs []string) (*Snapshot, error) {
	s := &Snapshot{dirs: make([]dirFiles, 0, len(dirs))}
	for _, dir := range dirs {
		files, err := readFS(os.DirFS(dir), ".", dir)
		if err != nil {
			return nil, err
		}
		s.dirs = append(s.dirs, dirFiles{dir: dir, files: files})
	}
	return s, nil
}

// Equal reports whether two snapshots hold the same files with the same
// content.
func (s *Snapshot) Equal(o *Snapshot) bool {
	return slices.EqualFunc(s.dirs, o.dirs, func(a, b dirFiles) bool {
		return a.dir == b.dir && slices.EqualFunc(a.files, b.files, func(x, y fileData) bool {
			return x.name == y.name && bytes.Equal(x.data, y.data)
		})
	})
}

// Load returns the built-in library with the snapshot's files merged over
// it, as the package-level Load does.
func (s *Snapshot) Load() (*Library, error) {
	var errs ErrorList
	collect := func(err error) error {
		var l *ErrorList
		if errors.As(err, &l) {
			errs = append(errs, *l...)
			return nil
		}
		return err
	}
	base, err := ParseFS(builtinFS(), BuiltinDir, BuiltinDir)
	if err := collect(err); err != nil {
		return nil, err
	}
	layers := make([][]*File, 0, len(s.dirs))
	for _, d := range s.dirs {
		files, err := parseFiles(d.files, d.dir)
		_ = collect(err)
		layers = append(layers, files)
	}
	lib, err := Merge(base, layers...)
	_ = collect(err)
	if len(errs) > 0 {
		rank := map[string]int{}
		for _, layer := range append([][]*File{base}, layers...) {
			for _, f := range layer {
				rank[f.Name] = len(rank)
			}
		}
		errs.sort(rank)
		return nil, &errs
	}
	return lib, nil
}

// ParseFS parses every *.yaml and *.yml file directly in dir of fsys, in
// lexical order of their names, skipping names that start with a dot. Files
// are named prefix/name in positions. Problems in the files come back as an
// *ErrorList together with what could be parsed; a directory or file that
// cannot be read is a plain error.
func ParseFS(fsys fs.FS, dir, prefix string) ([]*File, error) {
	data, err := readFS(fsys, dir, prefix)
	if err != nil {
		return nil, err
	}
	return parseFiles(data, prefix)
}

// readFS reads the pattern files directly in dir of fsys.
func readFS(fsys fs.FS, dir, prefix string) ([]fileData, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read pattern dir %s: %w", prefix, err)
	}
	var files []fileData
	for _, ent := range ents {
		name := ent.Name()
		if ent.IsDir() || strings.HasPrefix(name, ".") ||
			(!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read pattern file %s: %w", filepath.Join(prefix, name), err)
		}
		files = append(files, fileData{name: name, data: data})
	}
	return files, nil
}

// parseFiles parses files read by readFS, naming them prefix/name; Merge
// binds their service names.
func parseFiles(data []fileData, prefix string) ([]*File, error) {
	var files []*File
	var errs ErrorList
	for _, d := range data {
		f, err := parse(filepath.Join(prefix, d.name), d.data)
		var l *ErrorList
		if errors.As(err, &l) {
			errs = append(errs, *l...)
		}
		files = append(files, f)
	}
	return files, errs.err()
}

// Merge builds a library from the base files (the built-in library: their
// signatures in file order) and then each layer (a configured dir) in turn.
// The services of every layer are merged over the built-in ones first (a
// service whose name is already there replaces it), and every file's
// service names are bound to the result.
// Within the base and within each layer an id may appear once. A layer's
// signature with an id already in the library replaces it in place; a new one
// goes before the first fallback signature (a new fallback goes last). Then
// every signature with `before:` is moved in front of the one it names.
func Merge(base []*File, layers ...[]*File) (*Library, error) {
	lib := &Library{Services: BuiltinServices()}
	var errs ErrorList
	all := append([][]*File{base}, layers...)
	for _, layer := range all {
		lib.Services = mergeServices(lib.Services, layer, &errs)
	}
	for _, layer := range all {
		for _, f := range layer {
			f.bind(lib.Services, &errs)
		}
	}
	for _, layer := range all {
		lib.merge(layer, &errs)
		lib.mergeRules(layer, &errs)
	}
	lib.checkRules(&errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return lib, nil
}

func (lib *Library) merge(files []*File, errs *ErrorList) {
	seen := map[string]*Signature{}
	var moves []*Signature
	for _, f := range files {
		lib.Files = append(lib.Files, f.Name)
		for _, s := range f.Signatures {
			if first, dup := seen[s.ID]; dup {
				errs.Add(s.Pos, fmt.Sprintf("duplicate id %s (first defined at %s)", s.ID, first.Pos))
				continue
			}
			seen[s.ID] = s
			if i := lib.Index(s.ID); i >= 0 {
				lib.Signatures[i] = s
			} else {
				at := len(lib.Signatures)
				if !s.IsFallback() {
					if j := slices.IndexFunc(lib.Signatures, (*Signature).IsFallback); j >= 0 {
						at = j
					}
				}
				lib.Signatures = slices.Insert(lib.Signatures, at, s)
			}
			if s.Before != "" {
				moves = append(moves, s)
			}
		}
	}
	for _, s := range moves {
		if lib.Index(s.Before) < 0 {
			errs.Add(s.BeforePos, fmt.Sprintf("before: unknown signature id %q", s.Before))
			continue
		}
		lib.Signatures = slices.Delete(lib.Signatures, lib.Index(s.ID), lib.Index(s.ID)+1)
		lib.Signatures = slices.Insert(lib.Signatures, lib.Index(s.Before), s)
	}
}

// mergeRules adds a layer's rules: a rule whose id is already in the library
// replaces it in place, a new one goes last.
func (lib *Library) mergeRules(files []*File, errs *ErrorList) {
	seen := map[string]*Rule{}
	for _, f := range files {
		for _, r := range f.Rules {
			if first, dup := seen[r.ID]; dup {
				errs.Add(r.Pos, fmt.Sprintf("duplicate rule id %s (first defined at %s)", r.ID, first.Pos))
				continue
			}
			seen[r.ID] = r
			if i := slices.IndexFunc(lib.Rules, func(x *Rule) bool { return x.ID == r.ID }); i >= 0 {
				lib.Rules[i] = r
			} else {
				lib.Rules = append(lib.Rules, r)
			}
		}
	}
}

// Index returns the position of the signature with the given id, or -1.
func (lib *Library) Index(id string) int {
	return slices.IndexFunc(lib.Signatures, func(s *Signature) bool { return s.ID == id })
}

// Lookup returns the signature with the given id, or nil.
func (lib *Library) Lookup(id string) *Signature {
	if i := lib.Index(id); i >= 0 {
		return lib.Signatures[i]
	}
	return nil
}

// IsFallback reports whether the signature has no regex: it matches every line
// its levels allow that no earlier signature matched (service.unclassified).
func (s *Signature) IsFallback() bool { return s.Fallback }

// AppliesTo reports whether the signature is for the given unit ("chainfire.service").
func (s *Signature) AppliesTo(unit string) bool { return slices.Contains(s.Units, unit) }

// HomeUnits maps the id of each signature for exactly one unit, and of
// each rule over such a signature, to that unit.
func (lib *Library) HomeUnits() map[string]string {
	home := make(map[string]string)
	for _, s := range lib.Signatures {
		if len(s.Units) == 1 {
			home[s.ID] = s.Units[0]
		}
	}
	for _, r := range lib.Rules {
		if u, ok := home[r.Signature]; ok {
			home[r.ID] = u
		}
	}
	return home
}

// JournalFields returns the journal fields the library reads by name (in
// journal: conditions and as journal: field sources), sorted: what a reader
// fills record.Entry.Journal with.
func (lib *Library) JournalFields() []string {
	var names []string
	add := func(ms []JournalMatch) {
		for _, m := range ms {
			names = append(names, m.Field)
		}
	}
	for _, s := range lib.Signatures {
		add(s.Journal)
		for _, a := range s.Any {
			add(a.Journal)
		}
		for _, f := range s.Fields {
			if f.JournalField != "" {
				names = append(names, f.JournalField)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
