package cflogd_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// directRequires returns the modules go.mod requires directly (not marked
// "// indirect"), in both the block and the single-line form.
func directRequires(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	inBlock := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require ") && !strings.HasSuffix(line, "("):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.Contains(line, "// indirect") {
			continue
		}
		mods = append(mods, fields[0])
	}
	slices.Sort(mods)
	return mods
}

// TestReadmeListsDependencies checks that the README's Dependencies table
// gives a reason for every module go.mod requires directly, and lists no
// module that is not one.
func TestReadmeListsDependencies(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Dependencies\n")
	if !ok {
		t.Fatal("README.md has no ## Dependencies section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var listed []string
	row := regexp.MustCompile(`^\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|$`)
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(section, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil || m[1] == "module" || strings.HasPrefix(m[1], "---") {
			continue
		}
		mods := code.FindAllStringSubmatch(m[1], -1)
		if len(mods) == 0 {
			t.Errorf("README dependency row %q names no `module`", line)
		}
		if m[2] == "" {
			t.Errorf("README dependency row %q gives no reason", line)
		}
		for _, mod := range mods {
			listed = append(listed, mod[1])
		}
	}
	slices.Sort(listed)
	want := directRequires(t)
	if len(want) == 0 {
		t.Fatal("go.mod: no direct requirements found; the parse is out of date")
	}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("README Dependencies table (-go.mod direct requires +README):\n%s", diff)
	}
}
