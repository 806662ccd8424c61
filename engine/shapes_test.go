package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

// shapeCase is one line of testdata/tracing/expected.jsonl: what the entry
// at the same place in tracing.export must give. The fixtures were made by
// the real tracing crates (testdata/tracing/README.md); the expectations
// were written from the signature contract, not from cflogd's output.
type shapeCase struct {
	Shape     string         `json:"shape"`
	Case      string         `json:"case"`
	Prefix    string         `json:"message_prefix"`
	Signature string         `json:"signature"`
	Severity  string         `json:"severity"`
	Fields    map[string]any `json:"fields"`
	Unit      string         `json:"unit"`
	Note      string         `json:"note"`
}

func readCases(t *testing.T, name string) []shapeCase {
	t.Helper()
	return readJSONL[shapeCase](t, filepath.Join("../testdata/tracing", name))
}

// verdict is what one entry gave, in the terms of expected.jsonl.
type verdict struct {
	Signature string
	Severity  string
	Fields    map[string]any
	Unit      string
}

func verdictOf(evs []record.Event) verdict {
	for _, ev := range evs {
		if ev.Derived {
			continue
		}
		fields := map[string]any{}
		for k, v := range ev.Fields {
			if k == "template" {
				continue // the fixtures leave the template out
			}
			fields[k] = jsonNumber(v)
		}
		return verdict{ev.Signature, ev.Severity.String(), fields, ev.Unit}
	}
	return verdict{Fields: map[string]any{}}
}

// verdictDiff compares what an entry gave with what it must give: the
// signature, severity, unit and fields, or no event when signature is "".
func verdictDiff(evs []record.Event, signature, severity, unit string, fields map[string]any) string {
	want := verdict{signature, severity, map[string]any{}, ""}
	for k, v := range fields {
		want.Fields[k] = v
	}
	got := verdictOf(evs)
	if signature != "" {
		want.Unit = unit
	} else {
		got.Unit = ""
	}
	return cmp.Diff(want, got)
}

// jsonNumber makes numbers compare as the fixture's JSON does.
func jsonNumber(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return v
}

// readEntries reads an export file both ways: journalctl's export text
// through the input reader, and a journal file written from it by
// systemd-journal-remote through the journal reader.
func readEntries(t *testing.T, path string, units []string, fields tail.FieldSelect) map[string][]record.Entry {
	t.Helper()
	export, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]record.Entry{}
	collect := func(key string) func([]record.Entry) error {
		return func(b []record.Entry) error {
			out[key] = append(out[key], b...)
			return nil
		}
	}
	if err := tail.ReadInput(t.Context(), strings.NewReader(string(export)), tail.InputOptions{Units: units, Fields: fields}, collect("export text")); err != nil {
		t.Fatal(err)
	}
	testjournal.Require(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, strings.TrimSuffix(filepath.Base(path), ".export")+".journal", export)
	if err := tail.ReadJournal(t.Context(), tail.Options{Directory: dir, Units: units, Fields: fields}, collect("journal file")); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryShape checks that every signature gives the same signature,
// severity, unit and typed fields in every shape the real tracing stack
// writes: Full format, ANSI, spans, structured fields, the JSON formatter
// with and without flatten_event, tracing-journald's fields, and the panic
// forms.
func TestEveryShape(t *testing.T) {
	cases := readCases(t, "expected.jsonl")
	lib := library(t)
	e := New(lib, Options{})
	for how, entries := range readEntries(t, "../testdata/tracing/tracing.export", lib.Services.Units(), tail.FieldSelect{}) {
		t.Run(how, func(t *testing.T) {
			if len(entries) != len(cases) {
				t.Fatalf("read %d entries, want %d", len(entries), len(cases))
			}
			failed := map[string]int{}
			for i, c := range cases {
				en := entries[i]
				if !strings.HasPrefix(en.Message, c.Prefix) {
					t.Fatalf("entry %d: message %q, want prefix %q", i, en.Message, c.Prefix)
				}
				if diff := verdictDiff(e.Process([]record.Entry{en}, nil), c.Signature, c.Severity, c.Unit, c.Fields); diff != "" {
					failed[c.Shape]++
					t.Errorf("%s %s (entry %d, %q%s):\n%s", c.Shape, c.Case, i, en.Message, noteOf(c), diff)
				}
			}
			if len(failed) > 0 {
				t.Logf("failures per shape: %v", failed)
			}
		})
	}
}

func noteOf(c shapeCase) string {
	if c.Note == "" {
		return ""
	}
	return fmt.Sprintf("; note: %s", c.Note)
}

// TestBadShapes checks input that only looks like the tracing shapes: JSON
// that is not tracing's, truncated, 11,000 levels deep, with duplicate
// keys or odd values; a journal field named like a trusted one. Each is
// read as what it is, nothing crashes and nothing is lost.
func TestBadShapes(t *testing.T) {
	cases := readCases(t, "bad-expected.jsonl")
	lib := library(t)
	e := New(lib, Options{})
	noPrefix := readEntries(t, "../testdata/tracing/bad.export", lib.Services.Units(), tail.FieldSelect{NoPrefix: true})
	for how, entries := range readEntries(t, "../testdata/tracing/bad.export", lib.Services.Units(), tail.FieldSelect{}) {
		t.Run(how, func(t *testing.T) {
			if len(entries) != len(cases) {
				t.Fatalf("read %d entries, want %d", len(entries), len(cases))
			}
			for i, c := range cases {
				en := entries[i]
				if c.Case == "bad_native_no_prefix" {
					// Its service set tracing-journald's prefix to none.
					en = noPrefix[how][i]
				}
				if diff := verdictDiff(e.Process([]record.Entry{en}, nil), c.Signature, c.Severity, c.Unit, c.Fields); diff != "" {
					t.Errorf("%s (entry %d, %.200q%s):\n%s", c.Case, i, en.Message, noteOf(c), diff)
				}
			}
		})
	}
}
