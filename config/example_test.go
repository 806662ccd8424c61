package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readFile is the content of the file at path.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkOnlyMissingSecrets fails the test for a Parse error other than secret
// files that exist only on a node.
func checkOnlyMissingSecrets(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if err != nil && !errors.As(err, &list) {
		t.Fatalf("Parse: %v", err)
	}
	for _, e := range list {
		if !strings.Contains(e.Msg, "read secret: file not found: /run/credentials/") {
			t.Errorf("%v", e)
		}
	}
}

// TestShippedExamples parses packaging/cflogd.toml and the example of
// docs/configuration.md: every key must be known and every value valid;
// the only acceptable problems are secret files that exist only on a node.
func TestShippedExamples(t *testing.T) {
	pkg := readFile(t, "../packaging/cflogd.toml")
	doc := readFile(t, "../docs/configuration.md")
	m := regexp.MustCompile("(?s)### Example\n\n```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/configuration.md has no ### Example toml block")
	}
	for name, text := range map[string][]byte{"packaging/cflogd.toml": pkg, "docs example": m[1]} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(name, text)
			checkOnlyMissingSecrets(t, err)
			if err == nil && len(c.Sinks) == 0 {
				t.Errorf("example has no sinks")
			}
		})
	}
}

// TestDocsNameEveryKey checks that docs/configuration.md and the packaged
// example mention every key of the reference.
func TestDocsNameEveryKey(t *testing.T) {
	doc := readFile(t, "../docs/configuration.md")
	pkg := readFile(t, "../packaging/cflogd.toml")
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
