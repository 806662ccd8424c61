package patterns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// sigYAML is a minimal signature with the given id, for ordering tests; extra
// lines are added at the signature's indentation.
func sigYAML(id string, extra ...string) string {
	s := "  - id: " + id + "\n    units: all\n    summary: s\n    severity: warning\n    anchor: log-analysis\n"
	if !strings.Contains(strings.Join(extra, ""), "fallback:") {
		s += "    match: '" + id + "'\n"
	}
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

func fileYAML(sigs ...string) string { return "signatures:\n" + strings.Join(sigs, "") }

func mustParse(tb testing.TB, name, src string) *File {
	tb.Helper()
	f, err := Parse(name, []byte(src))
	if err != nil {
		tb.Fatalf("parse %s: %v", name, err)
	}
	return f
}

func ids(lib *Library) []string {
	var out []string
	for _, s := range lib.Signatures {
		out = append(out, s.ID)
	}
	return out
}

func TestMerge(t *testing.T) {
	fallback := sigYAML("base.rest", "fallback: true", "levels: [warn, error]")
	base := []string{
		fileYAML(sigYAML("base.a"), sigYAML("base.b")),
		fileYAML(sigYAML("base.c"), fallback),
	}
	tests := []struct {
		name   string
		base   []string
		layers [][]string
		want   []string
		errs   []string
	}{
		{
			name: "base files in order, signatures in file order",
			base: base,
			want: []string{"base.a", "base.b", "base.c", "base.rest"},
		},
		{
			name:   "new id goes before the fallback",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.x"), sigYAML("site.y"))}},
			want:   []string{"base.a", "base.b", "base.c", "site.x", "site.y", "base.rest"},
		},
		{
			name:   "existing id is replaced in place",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("base.b"))}},
			want:   []string{"base.a", "base.b", "base.c", "base.rest"},
		},
		{
			name:   "before places a new id",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.x", "before: base.b"))}},
			want:   []string{"base.a", "site.x", "base.b", "base.c", "base.rest"},
		},
		{
			name:   "before moves a replaced id",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("base.c", "before: base.a"))}},
			want:   []string{"base.c", "base.a", "base.b", "base.rest"},
		},
		{
			name:   "before may name a signature of a later file of the dir",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.x", "before: site.y")), fileYAML(sigYAML("site.y"))}},
			want:   []string{"base.a", "base.b", "base.c", "site.x", "site.y", "base.rest"},
		},
		{
			name:   "new fallback goes last",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.rest", "fallback: true", "levels: [error]"), sigYAML("site.x"))}},
			want:   []string{"base.a", "base.b", "base.c", "site.x", "base.rest", "site.rest"},
		},
		{
			name: "a later dir replaces an earlier dir's signature",
			base: base,
			layers: [][]string{
				{fileYAML(sigYAML("site.x"), sigYAML("site.y"))},
				{fileYAML(sigYAML("site.x"), sigYAML("site.z", "before: site.x"))},
			},
			want: []string{"base.a", "base.b", "base.c", "site.z", "site.x", "site.y", "base.rest"},
		},
		{
			name: "duplicate id across base files",
			base: []string{fileYAML(sigYAML("base.a")), fileYAML(sigYAML("base.b"), sigYAML("base.a"))},
			errs: []string{"f1.yaml:8:5: duplicate id base.a (first defined at f0.yaml:2:5)"},
		},
		{
			name:   "duplicate id across files of one dir",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.x")), fileYAML(sigYAML("site.x"))}},
			errs:   []string{"d0f1.yaml:2:5: duplicate id site.x (first defined at d0f0.yaml:2:5)"},
		},
		{
			name:   "before names an unknown id",
			base:   base,
			layers: [][]string{{fileYAML(sigYAML("site.x", "before: chainfire.nothing"))}},
			errs:   []string{`d0f0.yaml:8:13: before: unknown signature id "chainfire.nothing"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var baseFiles []*File
			for i, src := range tt.base {
				baseFiles = append(baseFiles, mustParse(t, "f"+string(rune('0'+i))+".yaml", src))
			}
			var layers [][]*File
			for d, layer := range tt.layers {
				var files []*File
				for i, src := range layer {
					files = append(files, mustParse(t, "d"+string(rune('0'+d))+"f"+string(rune('0'+i))+".yaml", src))
				}
				layers = append(layers, files)
			}
			lib, err := Merge(baseFiles, layers...)
			if diff := cmp.Diff(tt.errs, errorStrings(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, ids(lib)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeReplacementIsTheSiteSignature(t *testing.T) {
	base := mustParse(t, "base.yaml", fileYAML(sigYAML("base.a"), sigYAML("base.b")))
	site := mustParse(t, "site.yaml", fileYAML(
		"  - id: base.a\n    units: [flaredb]\n    summary: s\n    severity: critical\n    anchor: log-analysis\n    match: 'other'\n"))
	lib, err := Merge([]*File{base}, []*File{site})
	if err != nil {
		t.Fatal(err)
	}
	got := lib.Lookup("base.a")
	want := struct {
		Pos      Pos
		Units    []string
		Severity record.Severity
		Match    string
		Files    []string
	}{Pos{"site.yaml", 2, 5}, []string{"flaredb.service"}, record.Critical, "other", []string{"base.yaml", "site.yaml"}}
	gotv := want
	gotv.Pos, gotv.Units, gotv.Severity, gotv.Match, gotv.Files = got.Pos, got.Units, got.Severity, got.MatchText, lib.Files
	if diff := cmp.Diff(want, gotv); diff != "" {
		t.Errorf("replaced signature (-want +got):\n%s", diff)
	}
	if lib.Index("base.a") != 0 {
		t.Errorf("base.a at %d, want 0", lib.Index("base.a"))
	}
}

func TestParseFS(t *testing.T) {
	fsys := fstest.MapFS{
		"d/20-b.yaml":      {Data: []byte(fileYAML(sigYAML("site.b")))},
		"d/10-a.yml":       {Data: []byte(fileYAML(sigYAML("site.a")))},
		"d/.#10-a.yaml":    {Data: []byte("garbage: [")},
		"d/README.md":      {Data: []byte("# not a pattern file")},
		"d/sub/30-c.yaml":  {Data: []byte(fileYAML(sigYAML("site.c")))},
		"d/99-broken.yaml": {Data: []byte("signatures:\n  - id: site.z\n")},
	}
	files, err := ParseFS(fsys, "d", "/etc/p")
	checkErrors(t, err, []string{
		"/etc/p/99-broken.yaml:2:5: signature: missing key units",
		"/etc/p/99-broken.yaml:2:5: signature: missing key summary",
		"/etc/p/99-broken.yaml:2:5: signature: missing key severity",
		"/etc/p/99-broken.yaml:2:5: signature: missing key anchor",
		"/etc/p/99-broken.yaml:2:5: signature: missing key match (or journal, or any)",
	})
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff([]string{"/etc/p/10-a.yml", "/etc/p/20-b.yaml", "/etc/p/99-broken.yaml"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := ParseFS(fsys, "missing", "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: got %v, want fs.ErrNotExist", err)
	}
}

func writeFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	builtin := loadBuiltin(t)
	// A site replaces a built-in threshold and adds a signature of its own.
	site := writeFiles(t, map[string]string{
		"slow.yaml": `signatures:
  - id: chainfire.slow_request
    units: [chainfire]
    summary: "Slow {op} request: {latency_ms} ms"
    severity: warning
    anchor: issue-high-write-latency
    match: 'handled (?P<op>\w+) request.*?\blatency=(?P<latency_ms>[0-9.]+[a-zµ]*)'
    fields: {op: string, latency_ms: duration}
    fire_when: ["latency_ms >= 250"]
  - id: site.wal_fsync_slow
    units: [chainfire]
    summary: "WAL fsync took {duration_ms} ms"
    severity: warning
    anchor: issue-high-write-latency
    match: 'wal fsync took (?P<duration_ms>[0-9.]+[a-zµ]*)'
    fields: {duration_ms: duration}
`,
	})
	lib, err := Load([]string{site})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := ids(builtin)
	n := len(want)
	want = append(want[:n-1:n-1], "site.wal_fsync_slow", want[n-1])
	if diff := cmp.Diff(want, ids(lib)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	s := lib.Lookup("chainfire.slow_request")
	if diff := cmp.Diff([]Condition{{Field: "latency_ms", Op: GE, Value: 250, Text: "latency_ms >= 250"}}, s.FireWhen); diff != "" {
		t.Errorf("replaced fire_when (-want +got):\n%s", diff)
	}
	if got, want := lib.Files[len(lib.Files)-1], filepath.Join(site, "slow.yaml"); got != want {
		t.Errorf("last file %q, want %q", got, want)
	}

	// Errors of site files name the file in the dir; all are reported.
	bad := writeFiles(t, map[string]string{
		"a.yaml": "signatures:\n  - id: chainfire.rocksdb_stall\n    units: [chainfire]\n    summary: s\n    severity: loud\n    anchor: x\n    match: '('\n",
		"b.yaml": "signatures: [\n",
		"c.yaml": fileYAML(sigYAML("site.x", "before: chainfire.nope")),
	})
	_, err = Load([]string{bad})
	checkErrors(t, err, []string{
		filepath.Join(bad, "a.yaml") + `:5:15: severity: unknown severity "loud" (want info, warning, error or critical)`,
		filepath.Join(bad, "a.yaml") + ":7:12: match: invalid regex: missing closing ): (?i)(",
		filepath.Join(bad, "b.yaml") + ":1:1: invalid YAML: did not find expected node content",
		filepath.Join(bad, "c.yaml") + `:8:13: before: unknown signature id "chainfire.nope"`,
	})

	if _, err := Load([]string{filepath.Join(site, "nope")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: got %v, want fs.ErrNotExist", err)
	}
}
