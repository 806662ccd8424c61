package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestShippedExamples parses packaging/cflogd.toml and the example of
// docs/configuration.md: every key must be known and every value valid;
// the only acceptable problems are secret files that exist only on a node.
func TestShippedExamples(t *testing.T) {
	pkg, err := os.ReadFile("../packaging/cflogd.toml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Example\n\n```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/configuration.md has no ### Example toml block")
	}
	for name, text := range map[string][]byte{"packaging/cflogd.toml": pkg, "docs example": m[1]} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(name, text)
			var list ErrorList
			if err != nil && !errors.As(err, &list) {
				t.Fatalf("Parse: %v", err)
			}
			for _, e := range list {
				if !strings.Contains(e.Msg, "read secret: file not found: /run/credentials/") {
					t.Errorf("%v", e)
				}
			}
			if err == nil && len(c.Sinks) == 0 {
				t.Errorf("example has no sinks")
			}
		})
	}
}

// TestDocsNameEveryKey checks that docs/configuration.md and the packaged
// example mention every key of the reference.
func TestDocsNameEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile("../packaging/cflogd.toml")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range referenceKeys() {
		keys = append(keys, k.names()...)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not document %s", k)
		}
		if !regexp.MustCompile(`(?m)^#? ?` + k + ` = `).Match(pkg) {
			t.Errorf("packaging/cflogd.toml does not show %s", k)
		}
	}
}
