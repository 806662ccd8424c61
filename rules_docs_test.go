package cflogd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/patterns"
)

// TestDocsRuleExample loads the rule of docs/patterns.md ("Rules over time")
// as a site file, where it replaces the built-in one, and runs its examples.
func TestDocsRuleExample(t *testing.T) {
	doc, err := os.ReadFile("docs/patterns.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Rules over time")
	if !ok {
		t.Fatal("docs/patterns.md has no section Rules over time")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/patterns.md: no yaml block in Rules over time")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "storm.yaml"), []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := patterns.Load([]string{dir})
	if err != nil {
		t.Fatalf("load the docs rule:\n%v", err)
	}
	r := lib.LookupRule("chainfire.election_storm")
	if r == nil || !strings.HasPrefix(r.Pos.File, dir) || len(r.Examples) != 2 {
		t.Fatalf("the docs rule did not replace the built-in one: %+v", r)
	}
	for _, f := range classify.New(lib, classify.Options{}).CheckRuleExamples() {
		t.Error(f.Error())
	}
}
