package cflogd_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

func builtin(tb testing.TB) (*patterns.Library, *classify.Classifier) {
	tb.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		tb.Fatalf("load built-in library:\n%v", err)
	}
	return lib, classify.New(lib, classify.Options{})
}

// TestLibraryExamples runs every example and near miss of the shipped library
// through the classifier: each example must give its own signature (not be
// shadowed by an earlier one) with exactly its fields and severity, and no
// near miss may give its signature.
func TestLibraryExamples(t *testing.T) {
	_, c := builtin(t)
	for _, f := range c.CheckExamples() {
		t.Error(f.Error())
	}
}

func exampleUnit(s *patterns.Signature, unit string) string {
	if unit != "" {
		return unit
	}
	return s.Units[0]
}

// TestLibrarySummaries requires every example's summary to name every field
// it refers to (a field the line did not give prints as "?").
func TestLibrarySummaries(t *testing.T) {
	lib, c := builtin(t)
	for _, s := range lib.Signatures {
		for _, ex := range s.Examples {
			e := record.Entry{Message: ex.Line, Unit: exampleUnit(s, ex.Unit), Priority: record.NoPriority}
			ev, ok := c.Classify(&e)
			if !ok || ev.Signature != s.ID {
				continue // TestLibraryExamples reports it
			}
			if strings.Contains(ev.Summary, "?") && !strings.Contains(ex.Line, "?") {
				t.Errorf("%s: summary %q has a missing field", ex.Pos, ev.Summary)
			}
		}
	}
}

// runbookForm splits "LEVEL target: body" (the runbook's form).
var runbookForm = regexp.MustCompile(`^(INFO|WARN|ERROR) ([a-z_]+): (.*)$`)

var priorities = map[string]int{"INFO": 6, "WARN": 4, "ERROR": 3}

// TestLibraryLineShapes classifies every runbook-form example in the shapes
// of signatures.md ("Line shapes that must classify identically") and
// requires the same signature, severity and fields as the runbook form.
func TestLibraryLineShapes(t *testing.T) {
	lib, c := builtin(t)
	type result struct {
		Signature string
		Severity  string
		Fields    map[string]any
	}
	classifyEntry := func(e record.Entry) result {
		ev, ok := c.Classify(&e)
		if !ok {
			return result{}
		}
		return result{ev.Signature, ev.Severity.String(), ev.Fields}
	}
	n := 0
	for _, s := range lib.Signatures {
		for _, ex := range s.Examples {
			m := runbookForm.FindStringSubmatch(ex.Line)
			if m == nil {
				continue
			}
			n++
			level, target, body := m[1], m[2], m[3]
			unit := exampleUnit(s, ex.Unit)
			want := classifyEntry(record.Entry{Message: ex.Line, Unit: unit, Priority: record.NoPriority})
			shapes := map[string]record.Entry{
				"tracing default": {Message: "2026-11-26T10:00:00.123456Z " + strings.Repeat(" ", 5-len(level)) + level + " " + target + ": " + body},
				"ansi":            {Message: "2026-11-26T10:00:00.123456Z \x1b[33m" + strings.Repeat(" ", 5-len(level)) + level + "\x1b[0m " + target + ": " + body},
				"span":            {Message: level + " raft{node_id=1 term=7}: " + target + ": " + body},
				"journald":        {Message: body, Priority: priorities[level], Target: target},
			}
			for name, e := range shapes {
				e.Unit = unit
				if name != "journald" {
					e.Priority = record.NoPriority
				}
				if diff := cmp.Diff(want, classifyEntry(e)); diff != "" {
					t.Errorf("%s: %s shape of %q (-runbook form +shape):\n%s", ex.Pos, name, ex.Line, diff)
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d runbook-form examples", n)
	}
}

// loadDocsYAML writes the first yaml block after heading in
// docs/patterns.md as the site file name and loads it over the built-in
// library; it returns the library and the site directory.
func loadDocsYAML(t *testing.T, heading, name string) (*patterns.Library, string) {
	t.Helper()
	doc, err := os.ReadFile("docs/patterns.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), heading)
	if !ok {
		t.Fatalf("docs/patterns.md has no %q", heading)
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatalf("docs/patterns.md: no yaml block under %q", heading)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := patterns.Load([]string{dir})
	if err != nil {
		t.Fatalf("load the yaml block under %q of docs/patterns.md:\n%v", heading, err)
	}
	return lib, dir
}

// TestDocsExample loads the complete example of docs/patterns.md as a site
// file over the built-in library and runs every example.
func TestDocsExample(t *testing.T) {
	lib, _ := loadDocsYAML(t, "## A complete example", "50-wal.yaml")
	if i, j := lib.Index("site.wal_fsync_slow"), lib.Index("chainfire.connection_error"); i < 0 || i != j-1 {
		t.Errorf("site.wal_fsync_slow at %d, want just before chainfire.connection_error at %d", i, j)
	}
	for _, f := range classify.New(lib, classify.Options{}).CheckExamples() {
		t.Error(f.Error())
	}
}
