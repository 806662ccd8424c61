package cflogd_test

import (
	"strings"
	"testing"

	"github.com/centra-cloud/cflogd/classify"
)

// TestDocsRuleExample loads the rule of docs/patterns.md ("Rules over time")
// as a site file, where it replaces the built-in one, and runs its examples.
func TestDocsRuleExample(t *testing.T) {
	lib, dir := loadDocsYAML(t, "## Rules over time", "storm.yaml")
	r := lib.LookupRule("chainfire.election_storm")
	if r == nil || !strings.HasPrefix(r.Pos.File, dir) || len(r.Examples) != 2 {
		t.Fatalf("the docs rule did not replace the built-in one: %+v", r)
	}
	for _, f := range classify.New(lib, classify.Options{}).CheckRuleExamples() {
		t.Error(f.Error())
	}
}
