package config

import (
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			data := readFile(t, doc.path)
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
		})
	}
}

// TestReferenceCoversDecoder checks that the decoder takes exactly the keys
// the reference names: each key of a table, and each [[sink]] key for
// exactly the types the reference lists it under. The probe value {} is
// wrong for most keys; what matters is whether the key is known.
func TestReferenceCoversDecoder(t *testing.T) {
	known := func(text, key string) bool {
		t.Helper()
		_, err := parse(t, text)
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("%q: %v", text, err)
		}
		for _, e := range list {
			if strings.HasSuffix(e.Key, key) && (e.Msg == "unknown key" || strings.HasPrefix(e.Msg, "does not apply")) {
				return false
			}
		}
		return true
	}
	sinkKeys := map[string][]string{} // the types the reference lists each [[sink]] key under
	for _, k := range referenceKeys() {
		for _, name := range k.names() {
			if k.section == "sink" {
				sinkKeys[name] = append(sinkKeys[name], k.types...)
				continue
			}
			text := name + " = {}\n"
			if k.section != "" {
				text = "[" + k.section + "]\n" + text
			}
			if !known(text, name) {
				t.Errorf("%s.%s is in the reference, but the decoder does not take it", k.section, name)
			}
		}
	}
	delete(sinkKeys, "type")
	for name, types := range sinkKeys {
		for _, typ := range sinkTypeNames() {
			want := slices.Contains(types, typ)
			if got := known("[[sink]]\ntype = \""+typ+"\"\n"+name+" = {}\n", name); got != want {
				t.Errorf("%s sink: decoder takes %s: %v, reference: %v", typ, name, got, want)
			}
		}
	}
	if known("[[sink]]\ntype = \"loki\"\nmax_attempts = 3\n", "max_attempts") {
		t.Errorf("a loki sink takes max_attempts: it must retry until delivered")
	}
}

// TestReferenceExamples parses each sink type's example; the only
// acceptable problems are secret files that exist only on a node.
func TestReferenceExamples(t *testing.T) {
	for _, typ := range sinkTypeNames() {
		t.Run(typ, func(t *testing.T) {
			text, ok := sinkExamples[typ]
			if !ok {
				t.Fatal("no example")
			}
			c, err := parse(t, text)
			checkOnlyMissingSecrets(t, err)
			if err == nil && (len(c.Sinks) != 1 || SinkType(c.Sinks[0]) != typ) {
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
