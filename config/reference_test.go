package config

import (
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/sink/httpclient"
)

var update = flag.Bool("update", false, "rewrite the configuration reference in README.md and docs/configuration.md")

const (
	refBegin = "<!-- config-reference:begin -->"
	refEnd   = "<!-- config-reference:end -->"
)

// TestReadmeReference regenerates the configuration reference and compares
// it with the block between the markers of README.md and of
// docs/configuration.md; -update rewrites the blocks.
func TestReadmeReference(t *testing.T) {
	for _, doc := range []struct {
		path  string
		level int // heading level of the reference's sections
	}{{"../README.md", 3}, {"../docs/configuration.md", 4}} {
		t.Run(strings.TrimPrefix(doc.path, "../"), func(t *testing.T) {
			data, err := os.ReadFile(doc.path)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			before, rest, ok := strings.Cut(text, refBegin+"\n")
			got, after, ok2 := strings.Cut(rest, refEnd)
			if !ok || !ok2 {
				t.Fatalf("%s has no %s … %s block", doc.path, refBegin, refEnd)
			}
			want := "\n" + Reference(doc.level) + "\n"
			if *update {
				if err := os.WriteFile(doc.path, []byte(before+refBegin+"\n"+want+refEnd+after), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: the configuration reference is stale; run go test ./config -run TestReadmeReference -update (-want +got):\n%s", doc.path, diff)
			}
			for _, k := range decoderKeys(t) {
				if !strings.Contains(got, "`"+k.name+"`") {
					t.Errorf("%s: the reference does not name %s", doc.path, k)
				}
			}
		})
	}
}

// key is one key the decoder accepts, in its table.
type key struct{ section, name string }

func (k key) String() string {
	if k.section == "" {
		return k.name
	}
	return k.section + "." + k.name
}

// decoderKeys reads decode.go and returns every key its decoder accepts:
// the string cases of each `switch k` in decode, journal, patterns and
// sink, the "type" every sink needs, and every key of sinkKeys. Tables
// ("journal", "patterns", "sink") are not keys.
func decoderKeys(t *testing.T) []key {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "decode.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{"decode": "", "journal": "journal", "patterns": "patterns", "sink": "sink"}
	seen := map[key]bool{}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		section, ok := sections[fn.Name.Name]
		if !ok {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if id, ok := sw.Tag.(*ast.Ident); !ok || id.Name != "k" {
				return true
			}
			for _, c := range sw.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					lit, ok := e.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("decode.go %s: case %v is not a string literal", fn.Name.Name, e)
					}
					s, _ := strconv.Unquote(lit.Value)
					seen[key{section, s}] = true
				}
			}
			return true
		})
	}
	for _, table := range []string{"journal", "patterns", "sink"} {
		if !seen[key{"", table}] {
			t.Fatalf("decode.go: no case for the table %q; the parse of decode.go is out of date", table)
		}
		delete(seen, key{"", table})
	}
	seen[key{"sink", "type"}] = true
	for _, ks := range sinkKeys {
		for _, k := range ks {
			seen[key{"sink", k}] = true
		}
	}
	keys := slices.Collect(maps.Keys(seen))
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.String(), b.String()) })
	return keys
}

// TestReferenceCoversDecoder checks that the reference names exactly the
// keys the decoder accepts, and each sink key for exactly the types that
// take it.
func TestReferenceCoversDecoder(t *testing.T) {
	var got []key
	gotTypes := map[string][]string{}
	for _, k := range referenceKeys() {
		for _, n := range k.names() {
			got = append(got, key{k.section, n})
			if k.section == "sink" {
				gotTypes[n] = k.types
			}
		}
	}
	slices.SortFunc(got, func(a, b key) int { return strings.Compare(a.String(), b.String()) })
	want := decoderKeys(t)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(key{})); diff != "" {
		t.Errorf("reference keys (-decode.go +reference):\n%s", diff)
	}
	wantTypes := map[string][]string{}
	for _, typ := range sinkTypes {
		for _, k := range append([]string{"type", "name"}, sinkKeys[typ]...) {
			wantTypes[k] = append(wantTypes[k], typ)
		}
	}
	if diff := cmp.Diff(wantTypes, gotTypes); diff != "" {
		t.Errorf("sink types per key (-sinkKeys +reference):\n%s", diff)
	}
	if len(sinkTypes) != len(sinkKeys) {
		t.Errorf("sinkTypes %v, but sinkKeys has %d types", sinkTypes, len(sinkKeys))
	}
}

// TestHTTPKeysMirrorClient checks that httpKeys, which documents
// Sink.HTTP, has every field of httpclient.Config with its type.
func TestHTTPKeysMirrorClient(t *testing.T) {
	fields := func(t reflect.Type) []string {
		var out []string
		for i := range t.NumField() {
			out = append(out, t.Field(i).Name+" "+t.Field(i).Type.String())
		}
		return out
	}
	want := fields(reflect.TypeFor[httpclient.Config]())
	got := fields(reflect.TypeFor[httpKeys]())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("httpKeys fields (-httpclient.Config +httpKeys):\n%s", diff)
	}
}

// TestReferenceExamples parses each sink type's example; the only
// acceptable problems are secret files that exist only on a node.
func TestReferenceExamples(t *testing.T) {
	for _, typ := range sinkTypes {
		t.Run(typ, func(t *testing.T) {
			text, ok := sinkExamples[typ]
			if !ok {
				t.Fatal("no example")
			}
			c, err := parse(t, text)
			var list ErrorList
			if err != nil && !errors.As(err, &list) {
				t.Fatalf("Parse: %v", err)
			}
			for _, e := range list {
				if !strings.Contains(e.Msg, "read secret: file not found: /run/credentials/") {
					t.Errorf("%v", e)
				}
			}
			if err == nil && (len(c.Sinks) != 1 || c.Sinks[0].Type != typ) {
				t.Errorf("example gives sinks %+v, want one %s sink", c.Sinks, typ)
			}
		})
	}
}

func TestRenderCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"'head' (the oldest entry)", "`head` (the oldest entry)"},
		{"cflogd's own log: 'debug', 'info' or 'error'.", "cflogd's own log: `debug`, `info` or `error`."},
		{"the events' host", "the events' host"},
		{"e.g. '{ cluster = \"prod\" }'", "e.g. `{ cluster = \"prod\" }`"},
		{"('2d'); a", "(`2d`); a"},
	}
	for _, tt := range tests {
		if got := renderCode(tt.in); got != tt.want {
			t.Errorf("renderCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, n := range []int{1 << 20, 512 << 10, 3 << 30, 1000, 1} {
		s := formatSize(n)
		got, err := ParseSize(s)
		if err != nil || got != n {
			t.Errorf("ParseSize(formatSize(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
}
